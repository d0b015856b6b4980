"""Load from wrk (Debian's package): fixed connections for a fixed time, results as JSON.

wrk's own summary is for people; a Lua ``done`` hook prints exactly what the report needs
(completed requests, latency percentiles in microseconds, every kind of error) as one JSON line.
"""

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from strangler_bench.load import LoadResult, Request

_SCRIPT = """
wrk.method = {method}
wrk.body = {body}
{headers}
{delay}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
    .. '"status": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout))
end
"""


def available() -> bool:
    """Return whether wrk is on the PATH."""
    return shutil.which("wrk") is not None


def _lua(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string literal for ASCII text


def _script(request: Request, pause: float = 0.0) -> str:
    headers = "\n".join(
        f"wrk.headers[{_lua(key)}] = {_lua(value)}" for key, value in request.headers.items()
    )
    # wrk calls delay() before each request and starts the latency clock after it; uniform from
    # 0 to twice the pause, as the Python client waits.
    ms = round(pause * 1000)
    delay = f"delay = function() return math.random(0, {2 * ms}) end" if pause else ""
    return _SCRIPT.format(
        method=_lua(request.method), body=_lua(request.body.decode()), headers=headers, delay=delay
    )


def run(
    url: str, request: Request, connections: int, seconds: float, timeout: float, pause: float = 0.0
) -> LoadResult:
    """Run wrk against ``url + request.path`` (``pause`` s between a connection's requests)."""
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "bench.lua"
        script.write_text(_script(request, pause))
        command = [
            "wrk",
            f"--threads={min(2, connections)}",
            f"--connections={connections}",
            f"--duration={max(1, round(seconds))}s",
            f"--timeout={max(1, round(timeout))}s",
            f"--script={script}",
            url + request.path,
        ]
        out = subprocess.run(
            command, capture_output=True, text=True, check=True, timeout=seconds + timeout + 30
        ).stdout
    line = next(line for line in out.splitlines() if line.startswith("WRK_JSON "))
    data = json.loads(line.removeprefix("WRK_JSON "))
    errors = sum(data[key] for key in ("status", "connect", "read", "write", "timeout"))
    duration = data["duration_us"] / 1e6
    # wrk counts a non-2xx answer both as a request and as a status error.
    completed = data["requests"] - data["status"]
    return LoadResult(
        completed=completed,
        errors=errors,
        seconds=duration,
        # No answer, no latency: an empty run must not read as an instant one.
        p50_ms=data["p50_us"] / 1000 if completed else float("nan"),
        p99_ms=data["p99_us"] / 1000 if completed else float("nan"),
        tool="wrk",
    )
