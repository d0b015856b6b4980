"""Bare Flask hello-world: one JSON view (``gunicorn strangler_bench.apps.hello_flask:app``)."""

from flask import Flask

app = Flask(__name__)


@app.get("/healthz")
def healthz() -> dict[str, str]:
    """Answer the cheapest JSON there is."""
    return {"status": "ok"}
