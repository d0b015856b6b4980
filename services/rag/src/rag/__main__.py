"""Run rag: ``python -m rag --host 127.0.0.1 --port 8001``.

One process by default; ``RAG_WORKERS=2`` runs two uvicorn workers on the same port, each with
its own index, sync, gRPC server (the port is shared with SO_REUSEPORT) and tracing.
"""

import argparse
import logging
import signal
import sys
from types import FrameType

import uvicorn
from pydantic import ValidationError
from strangler_shared import (
    InvalidSecretError,
    configure_logging,
    load_service_token,
    shutdown_tracing,
)

from rag.config import Settings, get_settings
from rag.serving import build_app, set_up_process

logger = logging.getLogger("rag")


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


def _serve_one(args: argparse.Namespace, settings: Settings) -> int:
    set_up_process()
    try:
        app = build_app()
    except (InvalidSecretError, ValidationError) as error:
        logger.error("rag cannot start: %s", error)
        return 2
    # uvicorn shuts down gracefully on these, then re-raises the signal to the handler it found
    # installed; without this one the default handler would kill the process before the spans
    # below are flushed (SIGTERM) or print a KeyboardInterrupt traceback (SIGINT).
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _raise_stop)
    try:
        # log_config=None keeps configure_logging's structured lines for uvicorn's loggers too.
        uvicorn.run(
            app, host=args.host, port=args.port, log_config=None, access_log=settings.access_log
        )
    except _StopRequested as stop:
        logger.info("rag stopped on %s", stop)
    finally:
        # Export the spans still buffered by the batch processor before the process ends.
        shutdown_tracing()
    return 0


def _serve_workers(args: argparse.Namespace, settings: Settings) -> int:
    # The supervisor serves nothing, so it traces nothing; each worker sets itself up.
    configure_logging("rag")
    try:
        load_service_token()
    except InvalidSecretError as error:
        logger.error("rag cannot start: %s", error)
        return 2
    uvicorn.run(
        "rag.serving:worker_app",
        factory=True,
        workers=settings.workers,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=settings.access_log,
    )
    logger.info("rag stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Serve HTTP and gRPC until SIGINT or SIGTERM; return the exit status."""
    args = _parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as error:
        configure_logging("rag")
        logger.error("rag cannot start: %s", error)
        return 2
    if settings.workers > 1:
        return _serve_workers(args, settings)
    return _serve_one(args, settings)


if __name__ == "__main__":
    sys.exit(main())
