"""`cvms import FILE --location L`, `cvms backup`, `cvms restore`, `cvms replay-outbox`."""

from __future__ import annotations

import argparse
import os
import sys

from cvms_platform import backup as backups


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="cvms", description="CVMS operator commands.")
    commands = parser.add_subparsers(dest="command", required=True)
    importing = commands.add_parser(
        "import", help="import a filled administration CSV through the API, with a report"
    )
    importing.add_argument("file")
    importing.add_argument("--location", required=True)
    importing.add_argument("--url", default=os.environ.get("CVMS_API_URL", "http://127.0.0.1:8000"))
    importing.add_argument("--username", default=os.environ.get("CVMS_USERNAME"), required=False)
    importing.add_argument("--password", help="omit to use CVMS_PASSWORD or be prompted")
    importing.add_argument("--report", help="where to write the report (FILE.report.csv)")
    backups.add_commands(commands)  # backup, restore, replay-outbox
    args = parser.parse_args(argv)

    if backups.run(args):
        return
    if not args.username:
        sys.exit("error: give --username (or set CVMS_USERNAME)")
    from cvms_cli import importer  # only this command needs requests and tqdm

    importer.main(args)
