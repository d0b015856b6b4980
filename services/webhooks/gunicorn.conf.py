"""Gunicorn settings for the webhook adapter.

Tracing, logging and the Flask instrumentation are set up in each worker after fork: the SDK's
export thread and gRPC channels do not survive ``fork``, and without ``preload_app`` the worker
creates the app only after ``post_fork``, so the app is built as an instrumented Flask.
The app factory starts the worker's outbox relay thread, so each worker delivers stored events;
on exit the worker stops its relay first, so the spans of its last delivery are flushed too.

On SIGTERM (a graceful stop or restart) each worker first stops listening, so new connections
are refused at once and nginx sends them to the other adapter process, then finishes the
requests it holds, stops its relay and exits.

``GUNICORN_WORKERS`` (default 2) and ``GUNICORN_THREADS`` (default 4) size the server.
"""

import contextlib
import os
import signal
import socket
from types import FrameType
from typing import Any

from opentelemetry.instrumentation.flask import FlaskInstrumentor
from strangler_shared import configure_logging, setup_tracing, shutdown_tracing
from webhooks import close_app

SERVICE_NAME = "webhooks"

wsgi_app = "webhooks:create_app()"
bind = ["127.0.0.1:8002"]
# Threads, because each request blocks on the outbox's commit (an fsync, or a wait for the lock).
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Requests no longer wait for core; generous all the same, so only a truly stuck worker is killed.
timeout = 30
# Time for the relay to finish a delivery in flight (core's gRPC deadline, 5 s) and stop.
graceful_timeout = 20
# No keep-alive: nginx sends a POST on a kept-alive connection the moment a stopping worker
# closes it, and a POST that was sent is never passed to another server, so the sender got a
# 502. A fresh connection per delivery is refused instead while this process stops, and nginx
# passes a refused delivery to the other adapter process (a loopback connect costs ~0.1 ms).
keepalive = 0
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
errorlog = "-"
# gunicorn's runtime control socket defaults to one path per user, which every gunicorn on the
# machine (core's, this one, the tests') would fight over; the stack never uses it.
control_socket_disable = True


def post_fork(server: Any, worker: Any) -> None:
    """Set up tracing, logs and the Flask instrumentation in the new worker."""
    tracing = setup_tracing(SERVICE_NAME)
    configure_logging(SERVICE_NAME)
    # With tracing off (OTEL_SDK_DISABLED=true) its middleware would only parse each request for a
    # span nothing records.
    if tracing is not None:
        FlaskInstrumentor().instrument()


def post_worker_init(worker: Any) -> None:
    """Make SIGTERM stop the listener before the worker drains and exits."""
    drain = signal.getsignal(signal.SIGTERM)
    stopping = False

    def stop_listening(signum: int, frame: FrameType | None) -> None:
        # Only the first SIGTERM acts. A stop signalled to every process of the server (devstack,
        # systemd's control-group kill, Kubernetes) brings a second one from the master while
        # the worker is stopping its relay, when its listeners are already closed.
        nonlocal stopping
        if stopping:
            return
        stopping = True
        # Out of the poller first, so the loop never accepts on the shut socket; then shut the
        # listening socket itself (shared by the master and every worker), which makes the
        # kernel refuse new connections instead of queueing them for a worker that is leaving.
        set_accept = getattr(worker, "set_accept_enabled", None)
        if set_accept is not None:
            set_accept(False)
        for listener in worker.sockets:
            with contextlib.suppress(OSError):
                listener.sock.shutdown(socket.SHUT_RDWR)
        if callable(drain):
            drain(signum, frame)

    signal.signal(signal.SIGTERM, stop_listening)


def worker_exit(server: Any, worker: Any) -> None:
    """Stop the worker's relay, then export its buffered spans before it exits."""
    # A worker whose app failed to load has no ``wsgi``.
    app = getattr(worker, "wsgi", None)
    if app is not None:
        close_app(app)
    shutdown_tracing()
