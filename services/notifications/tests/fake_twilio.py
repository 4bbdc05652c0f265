"""A stand-in for Twilio's Messages API, run by the SMS tests as a process of its own (the test
process is monkey-patched by eventlet): `python fake_twilio.py --port N --dir D`.

Every request is appended to `D/requests.jsonl` (path, Authorization header, form fields). The
answer is the first of `D/answers.json` (a list of [status, body], which the test writes; each is
used once), or 201 with a new message's JSON as Twilio answers it."""

from __future__ import annotations

import argparse
import json
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs


def handler_for(directory: Path) -> type[BaseHTTPRequestHandler]:
    answers, log = directory / "answers.json", directory / "requests.jsonl"

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            form = {
                name: values[0]
                for name, values in parse_qs(self.rfile.read(length).decode()).items()
            }
            record = {
                "path": self.path,
                "authorization": self.headers.get("Authorization"),
                "content_type": self.headers.get("Content-Type"),
                "form": form,
            }
            with log.open("a") as out:
                out.write(json.dumps(record) + "\n")
            queued = json.loads(answers.read_text()) if answers.exists() else []
            if queued:
                status, body = queued.pop(0)
                answers.write_text(json.dumps(queued))
            else:
                status = 201
                body = {
                    "sid": f"SM{uuid.uuid4().hex}",
                    "status": "queued",
                    "to": form.get("To"),
                    "from": form.get("From"),
                    "body": form.get("Body"),
                }
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(directory))
    server.serve_forever()


if __name__ == "__main__":
    main()
