"""What else used the machine's CPU while a workload ran: the processes outside the bench's own.

The yardstick says how fast the machine was as a workload began; this says whether something else
shared its cores meanwhile (a test suite, a build, a stack left serving load). It reads /proc as
the workload begins and as it ends: each process's CPU time, with that of the children it has
waited for, so a process that came and went in between counts through its parent. The bench's
own tree (the stack, its servers, the load generator) is left out, and so are kernel threads.
For the tree to hold all of the bench's processes, the bench adopts its orphans
(:func:`adopt_orphans`).
"""

import contextlib
import ctypes
import time
from dataclasses import dataclass
from pathlib import Path

from strangler_bench.procs import TICKS, stat, tree

_KERNEL_THREAD = 0x00200000  # PF_KTHREAD, in /proc/<pid>/stat's flags
SHOWN = 0.01
"""The fewest cores a command must have used to be named."""
_PR_SET_CHILD_SUBREAPER = 36


def adopt_orphans() -> None:
    """Make this process the parent of the processes its descendants leave behind.

    A server's master can exit before its workers when stopped (uvicorn's supervisor, gunicorn's
    arbiter); PID 1 would then take the workers in, and the CPU they had used, minutes of a load
    by then, would read as another process's when PID 1 waits for them. Adopted, they stay in
    this process's tree, as zombies once they exit (their CPU time still readable in /proc), until
    the bench ends. Where the call is not available, nothing changes.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


@dataclass(frozen=True)
class Snapshot:
    """The CPU ticks every process outside the bench had used at one moment, by command name."""

    at: float
    ticks: dict[str, int]


@dataclass(frozen=True)
class Others:
    """The cores the processes outside the bench used on average over a window, and the busiest
    commands among them (most first)."""

    cores: float
    top: tuple[tuple[str, float], ...]

    def text(self) -> str:
        """``0.85 cores (pytest 0.80, make 0.05)``; the names only when any used enough."""
        named = ", ".join(f"{name} {cores:.2f}" for name, cores in self.top)
        return f"{self.cores:.2f} cores" + (f" ({named})" if named else "")


def snapshot(root: int) -> Snapshot:
    """Read every process's CPU ticks so far, but those of ``root``'s tree and kernel threads."""
    own = set(tree(root))
    ticks: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in own:
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            name, fields = stat(int(entry.name))
            if int(fields[6]) & _KERNEL_THREAD:
                continue
            # utime, stime, and the same of the children it has waited for.
            ticks[name] = ticks.get(name, 0) + sum(int(value) for value in fields[11:15])
    return Snapshot(time.monotonic(), ticks)


def between(before: Snapshot, after: Snapshot, most: int = 3) -> Others:
    """Return what the processes outside the bench used from ``before`` to ``after``.

    A process that ended and was waited for by a parent of another name moves its time to that
    name, so one name can read low and another high; the total does not.
    """
    seconds = max(after.at - before.at, 1e-9) * TICKS
    names = before.ticks.keys() | after.ticks.keys()
    used = {
        name: (after.ticks.get(name, 0) - before.ticks.get(name, 0)) / seconds for name in names
    }
    busiest = sorted(
        ((name, cores) for name, cores in used.items() if cores >= SHOWN),
        key=lambda item: -item[1],
    )
    return Others(max(0.0, sum(used.values())), tuple(busiest[:most]))
