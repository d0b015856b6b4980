"""The run's settings and what every workload shares: the stack, the launcher, the load tool."""

from dataclasses import dataclass, field
from pathlib import Path

from strangler_bench import load
from strangler_bench.load import LoadResult, Request
from strangler_bench.procs import Server
from strangler_bench.servers import BenchStack, Launcher

WORKLOADS = ("quality", "trivial", "genai", "gateway", "tracing", "internal", "coldstart", "payoff")


@dataclass(frozen=True)
class Settings:
    """How long and how hard each workload runs (``python -m strangler_bench --help``)."""

    repeats: int = 3
    seconds: float = 4.0
    genai_rounds: int = 4
    concurrencies: tuple[int, ...] = (50, 200, 500)
    connections: int = 50
    gateway_connections: int = 10
    # The gateway's share of core's rps over one run's pairs ranged 70-93 %: a median of 3 pairs
    # fell on either side of the 80 % goal from run to run, a median of 7 moves less.
    gateway_repeats: int = 7
    payoff_concurrency: int = 500
    internal_calls: int = 1000
    cold_repeats: int = 3
    use_wrk: bool = True
    workloads: tuple[str, ...] = WORKLOADS


@dataclass
class Bench:
    """The shared state of one run."""

    settings: Settings
    stack: BenchStack
    launch: Launcher
    out: Path
    started: list[Server] = field(default_factory=list)
    tools: set[str] = field(default_factory=set)

    def load(
        self, url: str, request: Request, connections: int, seconds: float, *, pause: float = 0.0
    ) -> LoadResult:
        """Run one bounded load and remember which tool measured it (``load.run``'s pause)."""
        result = load.run(
            url, request, connections, seconds, use_wrk=self.settings.use_wrk, pause=pause
        )
        self.tools.add(result.tool)
        return result

    def load_together(
        self,
        targets: list[tuple[str, Request]],
        connections: int,
        seconds: float,
        *,
        pause: float = 0.0,
    ) -> list[LoadResult]:
        """Run one bounded load per target, all at the same time (``load.run_together``)."""
        results = load.run_together(
            targets, connections, seconds, use_wrk=self.settings.use_wrk, pause=pause
        )
        self.tools.update(result.tool for result in results)
        return results

    def load_rounds(
        self, url: str, request: Request, connections: int, latency: float, *, spread: bool = True
    ) -> LoadResult:
        """Run a latency-bound load: ``genai_rounds`` requests per connection, bounded in time.

        The connections start spread over one ``latency`` (all in the same millisecond without
        ``spread``), and the figures come from the steady window (see ``load.run_rounds``). An
        answer in less than half the latency never waited on the model: an error.
        """
        rounds = self.settings.genai_rounds
        ramp = latency if spread else 0.0
        deadline = ramp + rounds * latency + 2.0
        result = load.run_rounds(
            url, request, connections, rounds, deadline, ramp=ramp, floor=latency / 2
        )
        self.tools.add(result.tool)
        return result

    def keep(self, server: Server) -> Server:
        """Track a server so the run stops it whatever happens."""
        self.started.append(server)
        return server

    def drop(self, server: Server) -> None:
        """Stop a server now (its workload is done with it)."""
        server.stop()
        if server in self.started:
            self.started.remove(server)

    def stop_all(self) -> None:
        """Stop every server this run started (the stack is stopped by its owner)."""
        while self.started:
            self.started.pop().stop()
