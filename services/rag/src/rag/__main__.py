"""Run rag: ``python -m rag --host 127.0.0.1 --port 8001``.

Tracing and logging are set up first: the gRPC instrumentation patches ``grpc.aio.server``, so it
must be in place before the lifespan creates the RagService server.
"""

import argparse
import logging
import signal
import sys
from types import FrameType

import uvicorn
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from pydantic import ValidationError
from strangler_shared import InvalidSecretError, configure_logging, setup_tracing

from rag.main import create_app

logger = logging.getLogger("rag")

# Readiness probes would otherwise fill the trace store with one trace every second.
UNTRACED_URLS = "/healthz"


class _StopRequested(Exception):
    """SIGTERM or SIGINT arrived; the server has already shut down gracefully."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _StopRequested(signum)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m rag", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="HTTP interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8001, help="HTTP port (default 8001)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Serve HTTP and gRPC until SIGINT or SIGTERM; return the exit status."""
    args = _parse_args(argv)
    provider = setup_tracing("rag")
    configure_logging("rag")
    # bm25s sets its own logger to DEBUG on import; its per-rebuild lines are noise here.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    try:
        app = create_app()
    except (InvalidSecretError, ValidationError) as error:
        logger.error("rag cannot start: %s", error)
        return 2
    FastAPIInstrumentor.instrument_app(app, excluded_urls=UNTRACED_URLS)
    # uvicorn shuts down gracefully on these, then re-raises the signal to the handler it found
    # installed; without this one the default handler would kill the process before the spans
    # below are flushed (SIGTERM) or print a KeyboardInterrupt traceback (SIGINT).
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _raise_stop)
    try:
        # log_config=None keeps configure_logging's structured lines for uvicorn's loggers too.
        uvicorn.run(app, host=args.host, port=args.port, log_config=None)
    except _StopRequested as stop:
        logger.info("rag stopped on %s", stop)
    finally:
        if provider is not None:
            # Export the spans still buffered by the batch processor before the process ends.
            provider.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
