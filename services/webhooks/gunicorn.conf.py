"""Gunicorn settings for the webhook adapter.

Tracing, logging and the Flask instrumentation are set up in each worker after fork: the SDK's
export thread and gRPC channels do not survive ``fork``, and without ``preload_app`` the worker
imports and creates the app only after ``post_fork``, so the app is built as an instrumented Flask.

``GUNICORN_WORKERS`` (default 2) and ``GUNICORN_THREADS`` (default 4) size the server.
"""

import os
from typing import Any

from opentelemetry.instrumentation.flask import FlaskInstrumentor
from strangler_shared import configure_logging, setup_tracing, shutdown_tracing

SERVICE_NAME = "webhooks"

wsgi_app = "webhooks:create_app()"
bind = ["127.0.0.1:8002"]
# Threads, because each request blocks on a gRPC call to core for up to its deadline (5 s).
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Longer than core's gRPC deadline, so only a truly stuck worker is killed.
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
errorlog = "-"
# gunicorn's runtime control socket defaults to one path per user, which every gunicorn on the
# machine (core's, this one, the tests') would fight over; the stack never uses it.
control_socket_disable = True


def post_fork(server: Any, worker: Any) -> None:
    """Set up tracing, logs and the Flask instrumentation in the new worker."""
    setup_tracing(SERVICE_NAME)
    configure_logging(SERVICE_NAME)
    FlaskInstrumentor().instrument()


def worker_exit(server: Any, worker: Any) -> None:
    """Export the worker's buffered spans before it exits."""
    shutdown_tracing()
