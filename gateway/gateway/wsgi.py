"""WSGI entry point: `gunicorn -c python:gateway.gunicorn_conf gateway.wsgi:app`."""

import logging
import os

from gateway.app import create_app

logging.basicConfig(
    level=os.environ.get("GATEWAY_LOG_LEVEL", "INFO").upper(),
    format="%(asctime)s gateway[%(process)d] %(levelname)s %(name)s %(message)s",
)
app = create_app()
