"""The whole local stack as one object: prepare, start in order with readiness checks, stop."""

import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from devstack import _gateway
from devstack._config import StackConfig
from devstack._processes import ProcessSpec, build_specs, core_env
from devstack._secrets import DevSecrets, ensure_secrets
from devstack._supervisor import ProcessFailedError, recorded_pid, spawn, stop, wait_ready

Report = Callable[[str], None]


class StackError(RuntimeError):
    """The stack could not be prepared or started; the message says why and what to do."""


class Stack:
    """The local stack described by a :class:`StackConfig`."""

    def __init__(self, config: StackConfig, report: Report | None = None) -> None:
        self.config = config
        self._report: Report = report or (lambda message: None)
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._secrets: DevSecrets | None = None

    @property
    def secrets(self) -> DevSecrets:
        """Return the dev secrets (generated on first use)."""
        if self._secrets is None:
            self._secrets = ensure_secrets(self.config.var)
        return self._secrets

    def specs(self) -> list[ProcessSpec]:
        """Return the stack's processes in start order."""
        return build_specs(
            self.config,
            self.secrets,
            _gateway.nginx_argv(self.config),
            _gateway.upstream_servers(self.config),
            _gateway.access_log(self.config),
        )

    def _spec(self, name: str) -> ProcessSpec:
        for spec in self.specs():
            if spec.name == name:
                return spec
        known = ", ".join(spec.name for spec in self.specs())
        raise StackError(f"no process named {name!r} in the stack (processes: {known})")

    def prepare(self) -> None:
        """Create the state folders, migrate and seed core, and render the gateway's config."""
        for folder in (self.config.log_dir, self.config.run_dir, self.config.data_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self._manage("migrate", "--noinput")
        self._manage("seed")
        self.render_gateway()
        self._report(f"gateway config rendered from {self.config.routes}")

    def _manage(self, *args: str) -> None:
        command = [sys.executable, str(self.config.root / "services/core/manage.py"), *args]
        result = subprocess.run(
            command,
            env=core_env(self.config, self.secrets),
            cwd=self.config.root,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(f"`manage.py {' '.join(args)}` failed:\n{result.stderr.strip()}")
        summary = result.stdout.strip().splitlines()
        self._report(f"core: manage.py {args[0]}: {summary[-1] if summary else 'done'}")

    def running(self) -> dict[str, int]:
        """Return the processes of this stack that are running now, by name."""
        pids = {spec.name: recorded_pid(self.config, spec.name) for spec in self.specs()}
        return {name: pid for name, pid in pids.items() if pid is not None}

    def start(self) -> None:
        """Start every process in order, each only once the previous ones are ready."""
        self._refuse_busy_ports()
        for spec in self.specs():
            self._children[spec.name] = spawn(spec, self.config)
            try:
                seconds = wait_ready(spec, self._children[spec.name], self.config)
            except ProcessFailedError as error:
                self.stop()
                raise StackError(str(error)) from None
            self._report(f"{spec.name} ready in {seconds:.1f} s")

    def _refuse_busy_ports(self) -> None:
        for name, port in vars(self.config.ports).items():
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    raise StackError(
                        f"port {port} ({name}) is already in use on 127.0.0.1: stop what holds "
                        "it (or `make down`) and try again"
                    )

    def stop(self) -> list[str]:
        """Stop every process of this stack, newest first; return the names stopped."""
        stopped = [
            spec.name
            for spec in reversed(self.specs())
            if stop(self.config, spec.name, spec.stop_signal)
        ]
        for child in self._children.values():
            child.wait(timeout=self.config.stop_seconds)
        self._children.clear()
        return stopped

    def stop_process(self, name: str) -> None:
        """Stop one process of the running stack (a test taking the new service down)."""
        spec = self._spec(name)
        stop(self.config, spec.name, spec.stop_signal)
        child = self._children.pop(name, None)
        if child is not None:
            child.wait(timeout=self.config.stop_seconds)

    def kill_process(self, name: str) -> None:
        """SIGKILL one process of the running stack and its children (a crash, for drills)."""
        spec = self._spec(name)
        stop(self.config, spec.name, signal.SIGKILL)
        child = self._children.pop(name, None)
        if child is not None:
            child.wait(timeout=self.config.stop_seconds)

    def start_process(self, name: str) -> None:
        """Start one stopped process of the stack again and return once it is ready."""
        spec = self._spec(name)
        if recorded_pid(self.config, name) is not None:
            raise StackError(f"{name} is already running")
        self._children[name] = spawn(spec, self.config)
        try:
            seconds = wait_ready(spec, self._children[name], self.config)
        except ProcessFailedError as error:
            raise StackError(str(error)) from None
        self._report(f"{name} ready in {seconds:.1f} s")

    def set_route(self, route: str, mode: str, percent: int | None = None) -> str:
        """Change one route's mode in the route table, apply it, return the live config id."""
        return _gateway.set_route_mode(self.config, route, mode, percent)

    def render_gateway(self) -> Path:
        """Render and check the gateway config for this stack; return the config file."""
        return _gateway.render(self.config).conf

    def apply_routes(self) -> str:
        """Apply the route table as its file reads now (an edit by hand); return the config id.

        Returns once the running gateway serves that id on new connections (the apply waits for
        nginx's reload). A client's kept-alive connection may still reach the old workers until
        they close it: such a client waits for the id on ``X-Gateway-Config``, as after
        :meth:`set_route`.
        """
        return _gateway.render(self.config).config_id

    def urls(self) -> list[tuple[str, str]]:
        """Return what a person opens, with where."""
        gateway = f"http://127.0.0.1:{self.config.ports.gateway}"
        return [
            ("gateway", gateway),
            ("gateway gRPC (h2c)", f"127.0.0.1:{self.config.ports.gateway_grpc}"),
            ("migration console", f"{gateway}/console/"),
            ("trace viewer", f"{gateway}/traces/"),
            ("legacy API docs (core)", f"{gateway}/api/docs"),
            ("Django admin (user admin)", f"{gateway}/admin/"),
            ("rag OpenAPI docs", f"http://127.0.0.1:{self.config.ports.rag_http}/docs"),
            ("webhook intake (Stripe)", f"{gateway}/webhooks/stripe"),
            ("webhook intake (Standard Webhooks)", f"{gateway}/webhooks/standard"),
            ("trace store API", f"http://127.0.0.1:{self.config.ports.traces}/api/traces"),
        ]

    def __enter__(self) -> "Stack":
        self.prepare()
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
