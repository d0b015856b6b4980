"""The guided tour: one route walked through every phase of the migration on the running stack.

Each stop changes the route the way an operator would (through the same traffic-control
functions as the ``strangler`` command), sends real requests through the gateway, and prints the
evidence it produced: figures, a trace id, a diff. A stop that does not see its evidence fails
the tour, so the tour is also an end-to-end check. The route table is put back as it was found.
"""

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import strangler_gateway
from rich.markup import escape
from strangler_gateway.cli.fault import describe_faults
from strangler_gateway.shadow import shadow_report
from strangler_gateway.traffic.stats import read_entries, route_stats

from devstack import _gateway
from devstack._stack import Stack
from devstack._tour_rollout import RolloutRun, RolloutStalled, rag_faults, run_rollout

ROUTE = "search"
Say = Callable[[str], None]


class TourError(RuntimeError):
    """A stop did not see the evidence it expected; the message says which and what it saw."""


@dataclass(frozen=True)
class TourSettings:
    """How much traffic each stop sends and how long it waits for its evidence."""

    users: int = 200
    shadow_requests: int = 20
    wait_seconds: float = 30.0
    # The rollout stops: canary percents, how often and on how much evidence each is judged,
    # the error rate injected into rag, and how long a rollout may take before it is aborted.
    rollout_steps: tuple[int, ...] = (25, 50)
    rollout_interval: float = 2.0
    rollout_min_requests: int = 30
    rollout_min_users: int = 10
    fault_error_rate: float = 0.2
    rollout_seconds: float = 180.0


@dataclass
class Stop:
    """One stop's name and the evidence it printed."""

    name: str
    evidence: dict[str, Any] = field(default_factory=dict)


def _poll(check: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise TourError(f"{what}: not seen within {seconds:g} s (last: {last!r})")


class Tour:
    """The stops, in order, against one running stack."""

    def __init__(
        self, stack: Stack, say: Say, settings: TourSettings, pause: Callable[[], None]
    ) -> None:
        self.stack, self.say, self.settings, self.pause = stack, say, settings, pause
        ports = stack.config.ports
        self.base = f"http://127.0.0.1:{ports.gateway}"
        self.client = httpx.Client(base_url=self.base, timeout=10, trust_env=False)
        self.traces = f"http://127.0.0.1:{ports.traces}"
        self.rag = f"http://127.0.0.1:{ports.rag_http}"
        self.stops: list[Stop] = []

    def run(self) -> list[Stop]:
        """Walk every stop, then put the route table back as it was found."""
        original = self.stack.config.routes.read_text(encoding="utf-8")
        try:
            for stop in (self.legacy, self.shadow, self.canary, self.rollout_fails,
                         self.rollout_completes, self.fallback, self.edges):  # fmt: skip
                self._stop(stop)
            self._stop(self.way_back)
        finally:
            self._clear_faults()
            self._restore(original)
            self.client.close()
        return self.stops

    def _stop(self, stop: Callable[[Stop], None]) -> None:
        name = (stop.__doc__ or stop.__name__).strip()
        record = Stop(stop.__name__)
        self.say(f"\n[bold]{len(self.stops) + 1}. {name}[/bold]")
        stop(record)
        self.stops.append(record)
        for key, value in record.evidence.items():
            self.say(f"   {key}: {escape(str(value))}")
        self.pause()

    def _set(self, mode: str, percent: int | None = None) -> str:
        config_id = self.stack.set_route(ROUTE, mode, percent)
        _poll(
            lambda: self.client.get("/healthz").headers.get("x-gateway-config") == config_id,
            self.settings.wait_seconds,
            f"config {config_id} live",
        )
        self.say(f"   {ROUTE} is now {mode}{f' {percent} %' if percent is not None else ''}"
                 f" (config {config_id}); console: {self.base}/console/routes/{ROUTE}")  # fmt: skip
        return config_id

    def _traced(self, path: str, **params: Any) -> tuple[str, httpx.Response]:
        trace_id = secrets.token_hex(16)
        headers = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
        response = self.client.get(path, params=params, headers=headers)
        return trace_id, response

    def _edges(self, trace_id: str) -> set[tuple[str, str, str]]:
        response = httpx.get(f"{self.traces}/api/traces/{trace_id}", timeout=5, trust_env=False)
        if response.status_code != 200:
            return set()
        spans = response.json()["spans"]
        by_id = {span["span_id"]: span for span in spans}
        found = set()
        for span in spans:
            parent = by_id.get(span["parent_span_id"] or "")
            if (
                span["kind"] == "SERVER"
                and parent
                and parent["service_name"] != span["service_name"]
            ):
                over = "grpc" if span["attributes"].get("rpc.system") == "grpc" else "http"
                found.add((parent["service_name"], span["service_name"], over))
        return found

    def _faults(self, flags: dict[str, Any]) -> None:
        token = {"Authorization": f"Bearer {self.stack.secrets.service_token}"}
        httpx.put(f"{self.rag}/internal/faults", json=flags, headers=token, timeout=5,
                  trust_env=False).raise_for_status()  # fmt: skip

    def _clear_faults(self) -> None:
        try:
            self._faults({})
        except httpx.HTTPError:
            self.say("   (rag is not answering: no fault to clear)")

    def _restore(self, original: str) -> None:
        self.stack.config.routes.write_text(original, encoding="utf-8")
        _gateway.render(self.stack.config)
        self.say("\nThe route table is back as the tour found it.")

    def legacy(self, stop: Stop) -> None:
        """Legacy: the monolith answers everything"""
        self._set("legacy")
        trace_id, response = self._traced("/api/search", q="invoice")
        edge = ("gateway", "core", "http")
        _poll(lambda: edge in self._edges(trace_id), self.settings.wait_seconds, "gateway→core")
        stop.evidence = {
            "served by": response.headers.get("x-service"),
            "trace": f"{self.base}/traces/trace/{trace_id} (gateway → core)",
        }

    def shadow(self, stop: Stop) -> None:
        """Shadow: users get legacy, the comparator asks both sides and compares"""
        self._set("shadow", 100)
        queries = ["invoice", "refund", "password reset", "trial", "team plan"]
        for index in range(self.settings.shadow_requests):
            self.client.get("/api/search", params={"q": queries[index % len(queries)]})
        # One real difference: rag failing a request on purpose answers unlike core.
        self._faults({"error_rate": 1.0})
        self.client.get("/api/search", params={"q": "invoice"})
        db = self.stack.config.data_dir / "shadow.sqlite3"
        report = _poll(
            lambda: (r := shadow_report(db, ROUTE, window_seconds=600)).diffs >= 1 and r,
            self.settings.wait_seconds,
            "a recorded diff",
        )
        self._faults({})
        example = report.examples[0]
        stop.evidence = {
            "parity": f"{report.matches} of {report.matches + report.diffs} comparisons matched",
            "a real diff": f"{example.uri}: legacy {example.legacy_status}, new "
            f"{example.new_status}, first path {example.diffs[0].path if example.diffs else '-'}",
            "noise cancelled": ", ".join(p for p, _ in report.noise) or "none seen",
            "trace": f"{self.base}/traces/trace/{example.trace_id}",
        }

    def canary(self, stop: Stop) -> None:
        """Canary: half of the users on new, each user always on the same side"""
        self._set("canary", 50)
        sides: dict[str, set[str]] = {}
        for user in range(self.settings.users):
            for _ in range(2):
                response = self.client.get(
                    "/api/search", params={"q": "invoice"}, headers={"X-User-Id": f"tour-{user}"}
                )
                sides.setdefault(f"tour-{user}", set()).add(response.headers["x-served-by"])
        if any(len(seen) > 1 for seen in sides.values()):
            raise TourError("a user was served by both sides: the split is not sticky")
        route = strangler_gateway.load_route_table(self.stack.config.routes).route(ROUTE)
        log = _gateway.access_log(self.stack.config)
        stats = route_stats(read_entries(log), route, window_seconds=120)
        if stats.srm.mismatch:
            raise TourError(f"the split check failed: {stats.srm.reason}")
        stop.evidence = {
            "users": f"{stats.srm.legacy} on legacy, {stats.srm.new} on new (sticky: each on one)",
            "split check": f"{stats.srm.reason} (p = {stats.srm.p_value})",
            "errors": f"legacy {stats.side('legacy').errors}, new {stats.side('new').errors}",
        }

    def _rollout(self, steps: tuple[int, ...]) -> RolloutRun:
        overrides = {"steps": steps, "shadow": False,
                     "interval_seconds": self.settings.rollout_interval,
                     "min_requests": self.settings.rollout_min_requests,
                     "min_users": self.settings.rollout_min_users}  # fmt: skip
        self.say(f"   strangler rollout start {ROUTE} --no-shadow --steps "
                 f"{','.join(map(str, steps))} --interval {self.settings.rollout_interval:g}; "
                 f"ledger: {self.base}/console/routes/{ROUTE}")  # fmt: skip

        def narrate(line: str) -> None:
            self.say(f"   [dim]{escape(line)}[/dim]")

        try:
            return run_rollout(self.stack, ROUTE, self.client, overrides,
                               users=self.settings.users, seconds=self.settings.rollout_seconds,
                               say=narrate)  # fmt: skip
        except RolloutStalled as error:
            raise TourError(str(error)) from error

    def _mode(self) -> str:
        return str(strangler_gateway.load_route_table(self.stack.config.routes).route(ROUTE).mode)

    def rollout_fails(self, stop: Stop) -> None:
        """A fault in rag: the rollout rolls back on its own, and the ledger says why"""
        self._set("legacy")
        now = rag_faults(self.stack, {"error_rate": self.settings.fault_error_rate})
        self.say(f"   strangler fault rag --error-rate {self.settings.fault_error_rate:g}: "
                 f"{describe_faults(now)}")  # fmt: skip
        run = self._rollout(self.settings.rollout_steps[-1:])
        last = run.entries[-1] if run.entries else {}
        if run.result.result != "failed" or last.get("event") != "rolled_back":
            raise TourError(f"the faulty rollout was not rolled back: {run.result.reason}")
        if self._mode() != "legacy":
            raise TourError(f"after the rollback {ROUTE} is {self._mode()}, not legacy")
        errors = next(gate for gate in last["gates"] if gate["name"] == "errors")
        sides = last["sides"]
        stop.evidence = {
            "fault": f"rag: {describe_faults(now)}",
            "outcome": f"{run.result.result} after {run.requests} requests; {ROUTE} is legacy",
            "ledger": f"{last['event']} at canary {last['step']['weight']} %: {last['reason']}",
            "errors gate": f"{errors['verdict']} ({errors['test']}, p = {errors['p_value']}): "
            f"new {sides['new']['errors']}/{sides['new']['requests']} errors, "
            f"legacy {sides['legacy']['errors']}/{sides['legacy']['requests']}",
            "trace": f"{self.base}/traces/trace/{last['trace_ids'][0]}"
            if last["trace_ids"]
            else "-",
        }

    def rollout_completes(self, stop: Stop) -> None:
        """The fault cleared: the rollout walks the route to migrated, step by judged step"""
        now = rag_faults(self.stack, {})
        self.say(f"   strangler fault rag --clear: {describe_faults(now)}")
        run = self._rollout(self.settings.rollout_steps)
        passed = [e for e in run.entries if e["event"] == "judged" and e["outcome"] == "passed"]
        last = run.entries[-1] if run.entries else {}
        if run.result.result != "completed" or last.get("event") != "completed":
            raise TourError(f"the healthy rollout did not complete: {run.result.reason}")
        if self._mode() != "migrated":
            raise TourError(f"after the rollout {ROUTE} is {self._mode()}, not migrated")
        stop.evidence = {
            "fault": f"rag: {describe_faults(now)}",
            "steps passed": "; ".join(
                f"canary {e['step']['weight']} % (new {e['sides']['new']['requests']} requests, "
                f"{e['sides']['new']['errors']} errors)"
                for e in passed
            ),
            "ledger": f"{last['event']}: {last['reason']}",
            "route": f"{ROUTE} is {self._mode()} after {run.requests} requests",
        }

    def fallback(self, stop: Stop) -> None:
        """Fallback: migrated, and the monolith answers when the new service is down"""
        self._set("migrated")
        self.stack.stop_process("rag")
        try:
            response = self.client.get("/api/search", params={"q": "invoice"})
        finally:
            self.stack.start_process("rag")
        fell_back = response.headers.get("x-migration-fallback")
        if response.status_code != 200 or fell_back != "true":
            raise TourError(f"no fallback: {response.status_code}, fallback={fell_back}")
        stop.evidence = {
            "with rag stopped": f"{response.status_code} from {response.headers.get('x-service')}"
            " (X-Migration-Fallback: true)",
        }

    def edges(self, stop: Stop) -> None:
        """One trace: core calls rag over HTTP, rag calls core over gRPC"""
        trace_id, response = self._traced("/api/customers/1/suggestions", k=3)
        expected = {("gateway", "core", "http"), ("core", "rag", "http"), ("rag", "core", "grpc")}
        found = _poll(
            lambda: (seen := self._edges(trace_id)) >= expected and seen,
            self.settings.wait_seconds,
            "the three edges",
        )
        stop.evidence = {
            "status": response.status_code,
            "edges": ", ".join(f"{a} → {b} ({p})" for a, b, p in sorted(found)),
            "trace": f"{self.base}/traces/trace/{trace_id}",
        }

    def way_back(self, stop: Stop) -> None:
        """The way back: roll the route back to the monolith"""
        change = strangler_gateway.rollback_route(
            self.stack.config.routes, self.stack.config.nginx_prefix, ROUTE
        )
        response = self.client.get("/api/search", params={"q": "invoice"})
        if response.headers.get("x-service") != "core":
            raise TourError(f"after the rollback {response.headers.get('x-service')} answered")
        stop.evidence = {
            "rollback": f"{change.change.before.mode} → legacy (config {change.config_id})",
            "served by": response.headers.get("x-service"),
        }
