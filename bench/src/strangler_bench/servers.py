"""The servers each workload measures, started the way infra/devstack starts them.

One shared stack (devstack's :class:`Stack` on free ports, like the cross-service tests) holds
core's database, core's gRPC server (which rag syncs from), the trace store and nginx. The
variants a workload needs (core with one worker or many threads, rag with another provider,
tracing off, the bare hello-worlds) are extra processes on free ports with the same command lines
and the environment devstack gives the real ones, so tracing exports to the same trace store.
"""

import ast
import dataclasses
import socket
import sys
from pathlib import Path

import tomlkit
from devstack import Ports, Stack, StackConfig, find_root
from devstack._processes import ProcessSpec
from rag.config import Settings

from strangler_bench.procs import HOST, Server, free_port, start

ROOT = find_root(Path(__file__).parent)
PY = sys.executable

# The load-study settings: a 1.0 s wait to the first token, then tokens fast enough that the
# whole answer takes the provider's latency (so the ideal is concurrency / 1.0 s).
PROVIDER_SECONDS = 1.0
_RATE = "10000"
SIMULATED_CORE = {
    "CORE_CHAT_PROVIDER": "simulated",
    "CORE_CHAT_SIMULATED_FIRST_TOKEN_SECONDS": str(PROVIDER_SECONDS),
    "CORE_CHAT_SIMULATED_TOKENS_PER_SECOND": _RATE,
}
SIMULATED_RAG = {
    "RAG_PROVIDER": "simulated",
    "RAG_SIMULATED_FIRST_TOKEN_SECONDS": str(PROVIDER_SECONDS),
    "RAG_SIMULATED_TOKENS_PER_SECOND": _RATE,
}
TRACING_OFF = {"OTEL_SDK_DISABLED": "true"}
CORE_GUNICORN = ROOT / "services/core/gunicorn.conf.py"
CORE_APP = "core.config.wsgi:application"
WEBHOOKS_GUNICORN = ROOT / "services/webhooks/gunicorn.conf.py"
# rag as the payoff deploys it: a uvicorn worker per core (the other workloads compare one
# process with one process).
RAG_TWO_WORKERS = {"RAG_WORKERS": "2"}
RAG_ONE_WORKER = {"RAG_WORKERS": "1"}


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class BenchStack(Stack):
    """devstack's stack with extra environment per process (devstack filters ``RAG_*`` out)."""

    def __init__(self, config: StackConfig, extra_env: dict[str, dict[str, str]]) -> None:
        super().__init__(config)
        self._extra_env = extra_env

    def specs(self) -> list[ProcessSpec]:
        """Return devstack's processes with this stack's extra environment added."""
        return [
            dataclasses.replace(spec, env={**spec.env, **self._extra_env.get(spec.name, {})})
            for spec in super().specs()
        ]

    def spec(self, name: str) -> ProcessSpec:
        """Return one process's spec by name."""
        return next(spec for spec in self.specs() if spec.name == name)

    def url(self, name: str) -> str:
        """Return the base URL of one of the stack's HTTP processes."""
        return self.spec(name).url

    def sample_traces(self, percent: float) -> None:
        """Set the gateway's ``trace_sample_percent``; return once nginx serves the new config.

        The loads after it open new connections, which the reloaded workers take.
        """
        table = tomlkit.parse(self.config.routes.read_text())
        gateway = table["gateway"]
        assert isinstance(gateway, tomlkit.items.Table)
        if gateway.get("trace_sample_percent") == percent:
            return
        gateway["trace_sample_percent"] = percent
        self.config.routes.write_text(tomlkit.dumps(table))
        self.apply_routes()

    def restart_with(self, name: str, env: dict[str, str]) -> None:
        """Restart one process with this environment on top of its own, until the next call."""
        self.stop_process(name)
        self._extra_env[name] = {**self._extra_env.get(name, {}), **env}
        self.start_process(name)


def load_study_stack(var: Path) -> BenchStack:
    """Return (not started) the stack as ``make up`` runs it for the load study, on free ports."""
    routes = var / "routes.toml"
    var.mkdir(parents=True, exist_ok=True)
    routes.write_text(_without_rate_limit((ROOT / "gateway" / "routes.toml").read_text()))
    names = list(Ports.__dataclass_fields__)
    ports = Ports(**dict(zip(names, _free_ports(len(names)), strict=True)))
    config = StackConfig.load(ROOT).replace(var=var, routes=routes, ports=ports, ready_seconds=120)
    return BenchStack(config, {"core-http": SIMULATED_CORE, "rag": SIMULATED_RAG})


@dataclasses.dataclass
class Launcher:
    """Starts variants of the services (and the bare apps) next to a running stack."""

    stack: BenchStack
    log_dir: Path

    def _env(self, name: str, extra: dict[str, str]) -> dict[str, str]:
        return {**self.stack.spec(name).env, **extra}

    def core(
        self, name: str, *, workers: int, threads: int, env: dict[str, str], app: str = CORE_APP
    ) -> Server:
        """Start core's HTTP server under gunicorn with its own config file.

        ``app``: another WSGI app to serve in core's place, with core's server settings, tracing
        and environment (``env`` on top).
        """
        port = free_port()
        argv = [
            PY, "-m", "gunicorn", "-c", str(CORE_GUNICORN), "--bind", f"{HOST}:{port}", app,
        ]  # fmt: skip
        extra = {"GUNICORN_WORKERS": str(workers), "GUNICORN_THREADS": str(threads), **env}
        return self._start(name, argv, self._env("core-http", extra), port)

    def rag(self, name: str, env: dict[str, str]) -> Server:
        """Start rag (one uvicorn process, as deployed) syncing from the stack's core."""
        port = free_port()
        argv = [PY, "-m", "rag", "--host", HOST, "--port", str(port)]
        extra = {"RAG_GRPC_BIND": f"{HOST}:{free_port()}", **env}
        return self._start(name, argv, self._env("rag", extra), port)

    def webhooks(self, name: str, *, workers: int, env: dict[str, str]) -> Server:
        """Start the Flask webhook adapter under gunicorn with its own config file."""
        port = free_port()
        argv = [
            PY, "-m", "gunicorn", "-c", str(WEBHOOKS_GUNICORN),
            "--bind", f"{HOST}:{port}", "webhooks:create_app()",
        ]  # fmt: skip
        outbox = self.log_dir / f"{name}-outbox.sqlite3"
        extra = {"GUNICORN_WORKERS": str(workers), "WEBHOOKS_OUTBOX_PATH": str(outbox), **env}
        return self._start(name, argv, self._env("webhooks", extra), port)

    def gunicorn_app(
        self, name: str, app: str, *, workers: int, threads: int, like: Path | None = None
    ) -> Server:
        """Start a bare WSGI app with the services' gunicorn settings (gthread, access log).

        ``like``: a service's gunicorn config, whose keep-alive and reuse_port the bare app takes.
        """
        port = free_port()
        argv = bare_gunicorn_argv(app, f"{HOST}:{port}", workers, threads, like)
        return self._start(name, argv, self._env("webhooks", TRACING_OFF), port)

    def uvicorn_app(self, name: str, app: str, env: dict[str, str] | None = None) -> Server:
        """Start a bare ASGI app under one uvicorn process, as rag runs."""
        port = free_port()
        argv = bare_uvicorn_argv(app, port)
        return self._start(name, argv, self._env("webhooks", {**TRACING_OFF, **(env or {})}), port)

    def _start(self, name: str, argv: list[str], env: dict[str, str], port: int) -> Server:
        return start(name, argv, env, f"http://{HOST}:{port}", self.log_dir, ROOT)


def bare_gunicorn_argv(
    app: str, bind: str, workers: int, threads: int, like: Path | None
) -> list[str]:
    """Return the command line of a bare app served as the service of config ``like`` is."""
    argv = [
        PY, "-m", "gunicorn", "--bind", bind,
        "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
        "--access-logfile", "-", "--no-control-socket",
    ]  # fmt: skip
    settings = gunicorn_settings(like) if like else {}
    if "keepalive" in settings:
        argv += ["--keep-alive", str(settings["keepalive"])]
    if settings.get("reuse_port"):
        argv.append("--reuse-port")
    return [*argv, app]


def bare_uvicorn_argv(app: str, port: int) -> list[str]:
    """Return the command line of a bare ASGI app served as rag is (access log as rag's default).

    uvicorn logs every request unless told not to; rag turns it off unless ``RAG_ACCESS_LOG`` is
    set, and a bare app that logged each request would be measured doing work rag skips.
    """
    argv = [PY, "-m", "uvicorn", "--host", HOST, "--port", str(port)]
    if not Settings.model_fields["access_log"].default:
        argv.append("--no-access-log")
    return [*argv, app]


def gunicorn_settings(config: Path) -> dict[str, object]:
    """Return the settings a gunicorn config file assigns a literal to (``keepalive = 0``)."""
    settings: dict[str, object] = {}
    for node in ast.parse(config.read_text()).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        if isinstance(target := node.targets[0], ast.Name):
            try:
                settings[target.id] = ast.literal_eval(node.value)
            except ValueError:
                continue  # computed from the environment, such as the worker count
    return settings


def _without_rate_limit(text: str) -> str:
    """Return the shipped table with its per-client rate limit lifted.

    Every request of the bench comes from one loopback address without a user key, so the
    shipped limit (a few dozen requests a second per client) would answer most of the load with
    429: the bench measures what proxying costs, not the limiter.
    """
    table = tomlkit.parse(text)
    gateway = table["gateway"]
    assert isinstance(gateway, tomlkit.items.Table)
    gateway["rate_limit"] = "100000r/s"
    gateway["rate_burst"] = 100000
    return tomlkit.dumps(table)
