"""Gunicorn configuration of core's HTTP server.

Run as ``python -m gunicorn core.config.wsgi:application -c services/core/gunicorn.conf.py
--bind 127.0.0.1:8000``. Tracing is set up in each worker after fork: the exporter's background
thread and the instrumentation's state do not survive a fork, so the master never sets them up.

Environment: GUNICORN_WORKERS (default 2), GUNICORN_THREADS (default 4), GUNICORN_TIMEOUT
(seconds, default 30), GUNICORN_GRACEFUL_TIMEOUT (seconds, default 15).
"""

import os
from typing import Any

wsgi_app = "core.config.wsgi:application"
bind = ["127.0.0.1:8000"]
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "15"))
# Each worker listens on its own socket (SO_REUSEPORT), so the kernel spreads new connections
# over the workers by their addresses. On one shared socket the worker that woke first took
# them: nginx's kept-alive connections to core often all landed on one worker while the other
# idled (search at 10 connections: 230-300 rps with all ten on one worker, 460-560 split). The
# cost: connections a stopping worker has not accepted yet are reset, where a shared socket
# leaves them to the other workers; core's workers are not replaced under load in this stack.
reuse_port = True
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
# The control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl): several
# gunicorn masters on one machine (core, webhooks, test stacks) would fight over it.
control_socket_disable = True


def post_fork(server: Any, worker: Any) -> None:
    """Set up tracing, logging and the Django instrumentation in the new worker."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.config.settings.local")
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from strangler_shared import configure_logging, setup_tracing

    tracing = setup_tracing("core")
    configure_logging("core")
    # Before the WSGI app loads, so Django builds its middleware chain with the tracing one in it.
    # Not with tracing off (OTEL_SDK_DISABLED=true): its middleware would still parse every request
    # for a span nothing records, 110-120 µs of a search's 1.35 ms in process.
    if tracing is not None:
        DjangoInstrumentor().instrument()


def worker_exit(server: Any, worker: Any) -> None:
    """Export the spans still buffered before the worker goes away."""
    from strangler_shared import shutdown_tracing

    shutdown_tracing()
