# CVMS: `make run` starts everything on this machine; `make test` runs every test.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PACKAGES := platform services/inventory services/administration services/scheduling services/identity services/notifications services/marketplace services/helpdesk gateway portal cli
SERVICES := inventory administration scheduling identity notifications marketplace helpdesk
STAMP  := $(VENV)/.installed

.PHONY: install run migrate test unit integration lint format bench clean screenshots

$(STAMP): $(foreach p,$(PACKAGES),$(p)/pyproject.toml) requirements-dev.txt constraints.txt \
		portal/package-lock.json portal/build-assets.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# compat editable mode: the packages resolve by path, so the top-level gateway/ folder
	# never shadows the gateway package.
	$(BIN)/pip install -q -c constraints.txt --config-settings editable_mode=compat \
		$(foreach p,$(PACKAGES),-e $(p)) -r requirements-dev.txt
	# The portal's front-end packages (USWDS) exactly as locked, built into its static folder.
	portal/build-assets.sh
	# The browser tests drive Debian's Chromium (no browser download works here).
	@test -x /usr/bin/chromium || { apt-get update -q >/dev/null && \
		apt-get install -y -q chromium >/dev/null; } || \
		echo "Chromium could not be installed: the browser tests will fail (apt-get install chromium)"
	# promtool and prometheus (the alert rules' tests, the scrape test) from Debian's package;
	# pg_dump and pg_restore (cvms backup / restore) from the PostgreSQL client.
	@command -v promtool >/dev/null && command -v pg_restore >/dev/null || { \
		apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends \
		prometheus postgresql-client >/dev/null; } || \
		echo "prometheus/postgresql-client could not be installed: the operations tests will fail"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/cvms-migrate $(SERVICES) --demo

run: install
	@$(BIN)/cvms-preflight
	CVMS_DEMO_STOCK=1 $(BIN)/cvms-migrate $(SERVICES) --demo
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho -f Procfile start

test: install
	$(BIN)/pytest
	# The browser tests in a process of their own (eventlet's monkey patching, which the nameko
	# suites need, makes Playwright hang).
	$(BIN)/pytest tests/browser

unit: install
	$(BIN)/pytest platform services gateway portal/tests cli/tests

# The browser tests, writing their screenshots to docs/screenshots/ to be looked at.
screenshots: install
	CVMS_SCREENSHOTS=1 $(BIN)/pytest tests/browser

integration: install
	$(BIN)/pytest tests
	$(BIN)/pytest tests/browser

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

.PHONY: bench-notifications
bench-notifications: install  # 10,000 queued booking e-mails drained to the mail catcher, then their latency
	$(BIN)/python -m bench.notifications $(BENCH_ARGS)

.PHONY: bench-import
bench-import: install  # 100,000 offline-import rows through gateway, administration, inventory
	$(BIN)/python -m bench.offline_import $(BENCH_ARGS)

.PHONY: bench-portal
bench-portal: install  # the dose-recording and locator pages through portal, gateway, services
	$(BIN)/python -m bench.portal_pages $(BENCH_ARGS)

.PHONY: bench-report
bench-report: install  # the inventory levels report over a 1,000,000-entry ledger
	$(BIN)/python -m bench.inventory_report $(BENCH_ARGS)

.PHONY: chaos
chaos: install  # 10,000 doses while every part fails in turn; CHAOS_ARGS="--short" for a quick one
	$(BIN)/python -m bench.chaos $(CHAOS_ARGS)

clean:
	rm -rf var $(VENV)
