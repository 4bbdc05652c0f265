"""WSGI entry point: `gunicorn -c python:portal.gunicorn_conf portal.wsgi:app`."""

import logging
import os

from portal.app import create_app

logging.basicConfig(
    level=os.environ.get("PORTAL_LOG_LEVEL", "INFO").upper(),
    format="%(asctime)s portal[%(process)d] %(levelname)s %(name)s %(message)s",
)
app = create_app()
