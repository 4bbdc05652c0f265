"""Bare Flask app: the floor the gateway's per-request overhead is measured against."""

from flask import Flask

app = Flask(__name__)


@app.get("/hello")
def hello() -> dict[str, str]:
    return {"message": "hello"}
