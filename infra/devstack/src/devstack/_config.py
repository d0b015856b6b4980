"""Where the stack's files live and where its processes listen (infra/stack.toml)."""

import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path

_MARKER = Path("infra") / "stack.toml"


@dataclass(frozen=True)
class Ports:
    """The TCP port of every listener of the stack (all on 127.0.0.1)."""

    gateway: int = 8080
    gateway_grpc: int = 9090
    core_http: int = 8000
    core_grpc: int = 50051
    rag_http: int = 8001
    rag_grpc: int = 50052
    webhooks: int = 8002
    # The second webhook adapter process, behind the same gateway upstream.
    webhooks_2: int = 8003
    traces: int = 4318
    shadow: int = 8090
    console: int = 8091
    reflection: int = 50053


@dataclass(frozen=True)
class StackConfig:
    """Everything the runner needs to know to start and stop the stack."""

    root: Path
    var: Path
    routes: Path
    ports: Ports = Ports()
    core_workers: int = 2
    webhooks_workers: int = 2
    webhooks_processes: int = 2
    ready_seconds: float = 60.0
    stop_seconds: float = 15.0

    @classmethod
    def load(cls, root: Path, var: Path | None = None) -> "StackConfig":
        """Read infra/stack.toml under ``root``."""
        data = tomllib.loads((root / _MARKER).read_text())
        sizing, timeouts = data.get("sizing", {}), data.get("timeouts", {})
        return cls(
            root=root,
            var=var or root / "var",
            routes=root / "gateway" / "routes.toml",
            ports=Ports(**data.get("ports", {})),
            core_workers=int(sizing.get("core_workers", 2)),
            webhooks_workers=int(sizing.get("webhooks_workers", 2)),
            webhooks_processes=_one_or_two(sizing.get("webhooks_processes", 2)),
            ready_seconds=float(timeouts.get("ready_seconds", 60)),
            stop_seconds=float(timeouts.get("stop_seconds", 15)),
        )

    @property
    def webhooks_ports(self) -> list[int]:
        """Return the port of each webhook adapter process, in start order."""
        return [self.ports.webhooks, self.ports.webhooks_2][: self.webhooks_processes]

    def replace(self, **changes: object) -> "StackConfig":
        """Return a copy with some fields changed (tests move ports and state elsewhere)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def log_dir(self) -> Path:
        return self.var / "log"

    @property
    def run_dir(self) -> Path:
        return self.var / "run"

    @property
    def data_dir(self) -> Path:
        return self.var / "data"

    @property
    def nginx_prefix(self) -> Path:
        return self.var / "nginx"


def _one_or_two(value: object) -> int:
    if value not in (1, 2):
        raise ValueError(f"[sizing] webhooks_processes must be 1 or 2, got {value!r}")
    return int(value)


def find_root(start: Path | None = None) -> Path:
    """Find the repository root: the nearest folder upwards that holds infra/stack.toml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / _MARKER).is_file():
            return folder
    raise FileNotFoundError(f"no {_MARKER} above {here}: run this from the repository")
