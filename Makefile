# CVMS: `make run` starts everything on this machine; `make test` runs every test.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PACKAGES := platform services/inventory services/administration services/scheduling gateway
SERVICES := inventory administration scheduling gateway
STAMP  := $(VENV)/.installed

.PHONY: install run migrate test unit integration lint format bench clean

$(STAMP): $(foreach p,$(PACKAGES),$(p)/pyproject.toml) requirements-dev.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# compat editable mode: the packages resolve by path, so the top-level gateway/ folder
	# never shadows the gateway package.
	$(BIN)/pip install -q -c constraints.txt --config-settings editable_mode=compat \
		$(foreach p,$(PACKAGES),-e $(p)) -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/cvms-migrate $(SERVICES) --demo

run: install
	@$(BIN)/cvms-preflight
	$(BIN)/cvms-migrate $(SERVICES) --demo
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho -f Procfile start

test: install
	$(BIN)/pytest

unit: install
	$(BIN)/pytest platform services gateway

integration: install
	$(BIN)/pytest tests

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	@command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null 2>&1 || \
		echo "wrk is not installed: measuring with the slower Python load generator"
	$(BIN)/python -m bench $(BENCH_ARGS)

.PHONY: bench-booking
bench-booking: install  # the booking rush through the gateway, and 10x overload
	@command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null 2>&1 || \
		echo "wrk is not installed: the overload comes from 2,000 Python threads instead"
	$(BIN)/python -m bench.booking_rush $(BENCH_ARGS)

.PHONY: bench-import
bench-import: install  # 100,000 offline-import rows through gateway, administration, inventory
	$(BIN)/python -m bench.offline_import $(BENCH_ARGS)

.PHONY: bench-report
bench-report: install  # the inventory levels report over a 1,000,000-entry ledger
	$(BIN)/python -m bench.inventory_report $(BENCH_ARGS)

clean:
	rm -rf var $(VENV)
