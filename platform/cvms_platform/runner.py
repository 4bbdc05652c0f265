"""`cvms-service NAME`: run a service package's nameko service with the package's own config.

By convention a service package NAME has `NAME/service.py` defining the service class whose
`name` is NAME, and `NAME/config.yaml` (nameko config with ${ENV_VAR:default} substitutions).
"""

import os

# psycopg's C wait function would block the eventlet hub; its select()-based one yields.
# Both settings must be in place before anything imports psycopg or the socket module.
os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")
import eventlet  # noqa: E402

import cvms_platform  # noqa: E402, F401 - silences eventlet's deprecation notice

eventlet.monkey_patch()

import argparse  # noqa: E402
import importlib  # noqa: E402
import sys  # noqa: E402
from importlib import resources  # noqa: E402


def service_class_path(package: str) -> str:
    module = importlib.import_module(f"{package}.service")
    for attribute, value in vars(module).items():
        if (
            isinstance(value, type)
            and value.__module__ == module.__name__
            and hasattr(value, "name")
        ):
            return f"{module.__name__}:{attribute}"
    raise SystemExit(f"{package}.service defines no service class")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run a CVMS nameko service.")
    parser.add_argument("package", help="service package, e.g. inventory")
    args = parser.parse_args(argv)
    config = resources.files(args.package).joinpath("config.yaml")
    from nameko.cli.main import main as nameko_main

    sys.argv = ["nameko", "run", "--config", str(config), service_class_path(args.package)]
    nameko_main()
