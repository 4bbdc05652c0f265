"""`cvms-service NAME`: run a service package's nameko service with the package's own config.

By convention a service package NAME has `NAME/service.py` defining the service class whose
`name` is NAME, and `NAME/config.yaml` (nameko config with ${ENV_VAR:default} substitutions).
"""

import cvms_platform.green  # noqa: F401 - first, before anything opens a socket

# isort: split

import argparse
import importlib
import sys
from importlib import resources


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
