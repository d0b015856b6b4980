"""`manage.py grpcserver --bind 127.0.0.1:50051`: serve CoreService until SIGTERM or SIGINT."""

import logging
import signal
import threading
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from strangler_shared import (
    InvalidSecretError,
    configure_logging,
    load_service_token,
    setup_tracing,
    shutdown_tracing,
)

from core.grpc.server import (
    DEFAULT_MAX_STREAM_SECONDS,
    DEFAULT_MAX_WORKERS,
    BindError,
    start_server,
)

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    """Serve CoreService, gRPC health and reflection, with the service-token check."""

    help = "Serve CoreService over gRPC (insecure, for 127.0.0.1 or an in-cluster network)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        """Declare where to listen, how many calls to run at once, how long to drain."""
        parser.add_argument("--bind", default="127.0.0.1:50051", help="host:port to listen on")
        parser.add_argument("--max-workers", type=int, default=DEFAULT_MAX_WORKERS)
        parser.add_argument(
            "--max-streams",
            type=int,
            default=None,
            help="server streams open at once (default: half the workers)",
        )
        parser.add_argument(
            "--max-stream-seconds",
            type=float,
            default=DEFAULT_MAX_STREAM_SECONDS,
            help="longest life of one server stream",
        )
        parser.add_argument(
            "--grace", type=float, default=10.0, help="seconds calls in flight get on shutdown"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Start the server and block until a stop signal, then stop gracefully."""
        # Tracing patches grpc.server, so it must be set up before the server is created.
        setup_tracing("core")
        configure_logging("core")
        try:
            token = load_service_token()
            running = start_server(
                options["bind"],
                token,
                options["max_workers"],
                max_streams=options["max_streams"],
                max_stream_seconds=options["max_stream_seconds"],
            )
        except (InvalidSecretError, BindError) as exc:
            raise CommandError(str(exc)) from exc
        stop = threading.Event()
        _on_stop_signals(stop)
        stop.wait()
        logger.info("stopping CoreService (grace %ss)", options["grace"])
        running.stop(options["grace"])
        shutdown_tracing()


def _on_stop_signals(stop: threading.Event) -> None:
    def request_stop(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
