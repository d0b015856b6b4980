"""What the stack runs: each process's command line, environment and readiness check."""

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from signal import SIGQUIT, SIGTERM, Signals

from devstack._config import StackConfig
from devstack._ready import GrpcReady, HttpReady, ReadinessCheck
from devstack._secrets import DevSecrets

_HOST = "127.0.0.1"

SPAN_EXPORT_DELAY_MS = 500
"""How long a process of the stack holds finished spans before it exports them (the batch
processor's schedule delay): short, so a trace is viewable right after its request."""


@dataclass(frozen=True)
class ProcessSpec:
    """One long-running process of the stack."""

    name: str
    argv: list[str]
    env: dict[str, str]
    ready: ReadinessCheck
    url: str = ""
    stop_signal: Signals = SIGTERM
    marker: str = field(default="")

    @property
    def cmdline_marker(self) -> str:
        """A piece of the command line that identifies this process in /proc (pid reuse guard)."""
        return self.marker or self.argv[-1]


def _common_env(config: StackConfig, secrets: DevSecrets, service: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "DJANGO_", "RAG_", "WEBHOOKS_", "STRANGLER_"))
    }
    env.update(
        PYTHONUNBUFFERED="1",
        STRANGLER_SERVICE_TOKEN=secrets.service_token,
        OTEL_SERVICE_NAME=service,
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://{_HOST}:{config.ports.traces}",
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment.name=local",
        OTEL_BSP_SCHEDULE_DELAY=str(SPAN_EXPORT_DELAY_MS),
        # Readiness probes are not traffic: keep them out of the trace store.
        OTEL_PYTHON_EXCLUDED_URLS="healthz",
    )
    return env


def core_env(config: StackConfig, secrets: DevSecrets) -> dict[str, str]:
    """Return the environment of core's processes (HTTP, gRPC and management commands).

    Core's own ``CORE_*`` settings pass through from the caller's environment (a load study
    runs ``CORE_CHAT_PROVIDER=simulated make up``), except those that wire the stack together.
    """
    env = _common_env(config, secrets, "core")
    env.update(
        DJANGO_SETTINGS_MODULE="core.config.settings.local",
        # The stack is reached through the gateway: no debug pages there. A developer who wants
        # them runs `manage.py runserver` (local settings, DEBUG on) on a port of their own.
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.django_secret_key,
        DATABASE_URL=f"sqlite:///{config.data_dir / 'core.sqlite3'}",
        RAG_BASE_URL=f"http://{_HOST}:{config.ports.rag_http}",
        CORE_RAG_GRPC_TARGET=f"{_HOST}:{config.ports.rag_grpc}",
        STRIPE_WEBHOOK_SECRET=secrets.stripe_webhook_secret,
        CORE_ADMIN_PASSWORD=secrets.admin_password,
        # The admin's forms are posted through the gateway: its origin, on this stack's port.
        DJANGO_CSRF_TRUSTED_ORIGINS=",".join(
            f"http://{host}:{config.ports.gateway}" for host in (_HOST, "localhost")
        ),
        STRANGLER_IDENTITY_SECRET=secrets.identity_secret,
    )
    return env


def _traces(config: StackConfig, secrets: DevSecrets, gateway_log: Path) -> ProcessSpec:
    env = _common_env(config, secrets, "traces")
    env["OTEL_SDK_DISABLED"] = "true"
    port = config.ports.traces
    db = str(config.data_dir / "traces.sqlite3")
    return ProcessSpec(
        name="traces",
        argv=[
            sys.executable,
            "-m",
            "tracestore",
            "serve",
            "--host",
            _HOST,
            "--port",
            str(port),
            "--db",
            db,
            # Each access-log line becomes the gateway's span: traces start at the gateway.
            "--gateway-log",
            str(gateway_log),
        ],
        env=env,
        ready=HttpReady(f"http://{_HOST}:{port}/healthz"),
        url=f"http://{_HOST}:{port}/api/traces",
        marker="tracestore",
    )


def _core_grpc(config: StackConfig, secrets: DevSecrets) -> ProcessSpec:
    target = f"{_HOST}:{config.ports.core_grpc}"
    return ProcessSpec(
        name="core-grpc",
        argv=[
            sys.executable,
            str(config.root / "services/core/manage.py"),
            "grpcserver",
            "--bind",
            target,
        ],
        env=core_env(config, secrets),
        ready=GrpcReady(target, "strangler.core.v1.CoreService"),
        url=f"grpc://{target}",
        marker="grpcserver",
    )


def _core_http(config: StackConfig, secrets: DevSecrets) -> ProcessSpec:
    port = config.ports.core_http
    env = core_env(config, secrets)
    env["GUNICORN_WORKERS"] = str(config.core_workers)
    return ProcessSpec(
        name="core-http",
        argv=[
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(config.root / "services/core/gunicorn.conf.py"),
            "--bind",
            f"{_HOST}:{port}",
            "core.config.wsgi:application",
        ],
        env=env,
        ready=HttpReady(f"http://{_HOST}:{port}/healthz"),
        url=f"http://{_HOST}:{port}",
    )


def rag_env(config: StackConfig, secrets: DevSecrets) -> dict[str, str]:
    """Return rag's environment.

    Rag's own ``RAG_*`` settings pass through from the caller's environment (a load study runs
    ``RAG_PROVIDER=simulated make up``), except those that wire the stack together.
    """
    env = _common_env(config, secrets, "rag")
    env.update({key: value for key, value in os.environ.items() if key.startswith("RAG_")})
    env.update(
        STRANGLER_IDENTITY_SECRET=secrets.identity_secret,
        RAG_CORE_GRPC_TARGET=f"{_HOST}:{config.ports.core_grpc}",
        RAG_GRPC_BIND=f"{_HOST}:{config.ports.rag_grpc}",
    )
    return env


def _rag(config: StackConfig, secrets: DevSecrets) -> ProcessSpec:
    env = rag_env(config, secrets)
    port = config.ports.rag_http
    return ProcessSpec(
        name="rag",
        argv=[sys.executable, "-m", "rag", "--host", _HOST, "--port", str(port)],
        env=env,
        # /healthz answers 200 only once the first knowledge-base sync from core has finished.
        ready=HttpReady(f"http://{_HOST}:{port}/healthz"),
        url=f"http://{_HOST}:{port}",
        marker="rag",
    )


def _webhooks(config: StackConfig, secrets: DevSecrets, port: int, name: str) -> ProcessSpec:
    env = _common_env(config, secrets, "webhooks")
    env.update(
        WEBHOOKS_CORE_GRPC_TARGET=f"{_HOST}:{config.ports.core_grpc}",
        WEBHOOKS_STRIPE_SIGNING_SECRET=secrets.stripe_webhook_secret,
        WEBHOOKS_STANDARD_SIGNING_SECRET=secrets.standard_webhook_secret,
        # Accepted events wait here for delivery to core; kept across restarts like core's data,
        # and shared by every adapter process (one host: SQLite's WAL needs shared memory).
        WEBHOOKS_OUTBOX_PATH=str(config.data_dir / "webhooks-outbox.sqlite3"),
        GUNICORN_WORKERS=str(config.webhooks_workers),
    )
    return ProcessSpec(
        name=name,
        argv=[
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(config.root / "services/webhooks/gunicorn.conf.py"),
            "--bind",
            f"{_HOST}:{port}",
            "webhooks:create_app()",
        ],
        env=env,
        ready=HttpReady(f"http://{_HOST}:{port}/healthz"),
        url=f"http://{_HOST}:{port}",
    )


def _shadow(
    config: StackConfig, secrets: DevSecrets, upstreams: dict[str, list[str]]
) -> ProcessSpec:
    port = config.ports.shadow
    argv = [
        sys.executable, "-m", "strangler_gateway.shadow", "serve",
        "--host", _HOST,
        "--port", str(port),
        "--routes", str(config.routes),
        "--db", str(config.data_dir / "shadow.sqlite3"),
    ]  # fmt: skip
    for name, servers in upstreams.items():
        argv += [arg for server in servers for arg in ("--upstream", f"{name}={server}")]
    return ProcessSpec(
        name="shadow",
        argv=argv,
        env=_common_env(config, secrets, "shadow"),
        ready=HttpReady(f"http://{_HOST}:{port}/healthz"),
        url=f"http://{_HOST}:{port}",
        marker="strangler_gateway.shadow",
    )


def _console(config: StackConfig, secrets: DevSecrets) -> ProcessSpec:
    port = config.ports.console
    argv = [
        sys.executable, "-m", "strangler_gateway.console", "serve",
        "--host", _HOST,
        "--port", str(port),
        "--routes", str(config.routes),
        "--prefix", str(config.nginx_prefix),
        "--shadow-db", str(config.data_dir / "shadow.sqlite3"),
        "--faults", f"rag=http://{_HOST}:{config.ports.rag_http}",
        "--faults", f"core=http://{_HOST}:{config.ports.core_http}",
    ]  # fmt: skip
    env = _common_env(config, secrets, "console")
    # The console verifies the identity the gateway passes on, so it needs core's signing key.
    env["STRANGLER_IDENTITY_SECRET"] = secrets.identity_secret
    return ProcessSpec(
        name="console",
        argv=argv,
        env=env,
        ready=HttpReady(f"http://{_HOST}:{port}/healthz"),
        url=f"http://{_HOST}:{port}/console/",
        marker="strangler_gateway.console",
    )


def _reflection(config: StackConfig, secrets: DevSecrets) -> ProcessSpec:
    target = f"{_HOST}:{config.ports.reflection}"
    argv = [
        sys.executable, "-m", "strangler_gateway.reflection", "serve",
        "--listen", target,
        "--routes", str(config.routes),
    ]  # fmt: skip
    return ProcessSpec(
        name="reflection",
        argv=argv,
        env=_common_env(config, secrets, "reflection"),
        ready=GrpcReady(target),
        url=f"grpc://{target}",
        marker="strangler_gateway.reflection",
    )


def _gateway(config: StackConfig, secrets: DevSecrets, nginx_argv: list[str]) -> ProcessSpec:
    port = config.ports.gateway
    return ProcessSpec(
        name="gateway",
        argv=nginx_argv,
        env=_common_env(config, secrets, "gateway"),
        ready=HttpReady(f"http://{_HOST}:{port}/healthz"),
        url=f"http://{_HOST}:{port}",
        # SIGQUIT is nginx's graceful shutdown: open requests and streams finish first.
        stop_signal=SIGQUIT,
        marker="nginx",
    )


def build_specs(
    config: StackConfig,
    secrets: DevSecrets,
    nginx_argv: list[str],
    upstreams: dict[str, list[str]],
    gateway_log: Path,
) -> list[ProcessSpec]:
    """Return the stack's processes in start order (each depends only on earlier ones)."""
    return [
        _traces(config, secrets, gateway_log),
        _core_grpc(config, secrets),
        _core_http(config, secrets),
        _rag(config, secrets),
        *[
            _webhooks(config, secrets, port, "webhooks" if n == 0 else f"webhooks-{n + 1}")
            for n, port in enumerate(config.webhooks_ports)
        ],
        _shadow(config, secrets, upstreams),
        _console(config, secrets),
        _reflection(config, secrets),
        _gateway(config, secrets, nginx_argv),
    ]
