"""`cvms-preflight`: say in one line what is missing before starting CVMS."""

from __future__ import annotations

import sys

from kombu import Connection

from cvms_platform import config


def main() -> None:
    uri = config.amqp_uri()
    try:
        with Connection(uri, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001 - any failure is reported the same way
        shown = uri.split("@")[-1]
        print(
            f"RabbitMQ is not reachable at {shown} ({type(exc).__name__}). "
            "Start one with `rabbitmq-server -detached`, or point AMQP_URI at yours.",
            file=sys.stderr,
        )
        sys.exit(1)
