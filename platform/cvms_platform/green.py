"""Make this process green for nameko: eventlet's monkey patching, with psycopg waiting through
select() so that it yields to the hub (its C wait function would block every green thread).

Import it first, before anything opens a socket or imports psycopg: `cvms-service` does, and so
does every test suite that starts nameko containers.
"""

import os

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

import eventlet  # noqa: E402

import cvms_platform  # noqa: E402, F401 - silences eventlet's deprecation notice

eventlet.monkey_patch()
