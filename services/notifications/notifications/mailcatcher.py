"""`cvms-mailcatcher`: a development SMTP server that keeps every message it is given, one
`.eml` file each under `var/mail/` (`CVMS_MAIL_DIR`), so a newcomer sees the e-mails the demo
sends. Never for production: it accepts anything from anyone on its address."""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller


class KeepEveryMessage:
    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
        partial = self.directory / f".{name}"
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.rename(self.directory / name)  # whole files only, for whoever reads the folder
        return "250 Message accepted for delivery"


def start(directory: Path, host: str = "127.0.0.1", port: int = 1025) -> Controller:
    controller = Controller(KeepEveryMessage(directory), hostname=host, port=port)
    controller.start()
    return controller


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("CVMS_SMTP_PORT", "1025")))
    parser.add_argument("--dir", default=os.environ.get("CVMS_MAIL_DIR", "var/mail"))
    args = parser.parse_args(argv)
    controller = start(Path(args.dir), args.host, args.port)
    print(f"mail catcher on {args.host}:{args.port}, keeping messages in {args.dir}", flush=True)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    stopping.wait()
    controller.stop()
