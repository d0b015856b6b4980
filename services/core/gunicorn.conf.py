"""Gunicorn configuration of core's HTTP server.

Run as ``python -m gunicorn core.config.wsgi:application -c services/core/gunicorn.conf.py
--bind 127.0.0.1:8000``. Tracing is set up in each worker after fork: the exporter's background
thread and the instrumentation's state do not survive a fork, so the master never sets them up.

Environment: GUNICORN_WORKERS (default 2), GUNICORN_THREADS (default 4), GUNICORN_TIMEOUT
(seconds, default 30), GUNICORN_GRACEFUL_TIMEOUT (seconds, default 15), CORE_GC_THRESHOLDS (the
cycle collector's thresholds in each worker, as JSON, default ``[10000, 50, 100]``).
"""

import gc
import json
import os
from typing import Any


def _gc_thresholds(raw: str) -> tuple[int, int, int]:
    try:
        values = json.loads(raw)
    except ValueError:
        values = None
    if (
        not isinstance(values, list)
        or len(values) != 3
        or not all(type(value) is int and value >= 0 for value in values)
    ):
        raise ValueError(
            f"CORE_GC_THRESHOLDS must be a JSON list of three integers >= 0, not {raw!r}"
        )
    return values[0], values[1], values[2]


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
# Python's own thresholds are 700, 10, 10; a first threshold of 0 turns automatic collection off.
# Read here, in the master, so a value the workers could not use stops gunicorn at start.
_GC_THRESHOLDS = _gc_thresholds(os.environ.get("CORE_GC_THRESHOLDS", "[10000, 50, 100]"))


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


def post_worker_init(worker: Any) -> None:
    """Tune the cycle collector once the worker has loaded the app.

    With tracing on, a search's spans stay alive until the batch processor exports them. With
    Python's thresholds (700, 10, 10) the collector then ran about 60 times per 1,000 searches,
    and every 2,000 or so a full collection scanned all the worker had loaded at start-up (Django,
    the app, the instrumentation: 80,000-100,000 objects) for 50-90 ms of CPU, every thread of
    the worker waiting. In process, 2,000 traced searches at a time taking turns: 33-41 µs of
    the collector per search, 1,681 against 1,645 µs of CPU per search in all. Frozen, what the
    worker loaded is never scanned again (8-10 µs left); the higher thresholds, as rag's
    ``RAG_GC_THRESHOLDS``, take the rest. With tracing off the collector hardly ran either way.
    No collection first: at this point it finds no garbage, and took 70 ms of the worker's start.
    """
    gc.freeze()
    gc.set_threshold(*_GC_THRESHOLDS)


def worker_exit(server: Any, worker: Any) -> None:
    """Export the spans still buffered before the worker goes away."""
    from strangler_shared import shutdown_tracing

    shutdown_tracing()
