"""Under gunicorn, each worker sets tracing up after fork and exports its spans when it stops.

The export schedule is set far beyond the test's length, so a span reaches stdout (the console
exporter) only if the worker flushes on its way out; the span continues the caller's trace and
names the service as the semantic conventions ask. With tracing off, a worker runs no tracing
middleware at all.
"""

import json
import re
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from strangler_testing import bound_socket, instrumented_after_fork, port_of

from core.config.tests.processes import SERVICE_DIR, process_env, start, stop, wait_until


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _console_spans(text: str) -> list[dict[str, Any]]:
    """Decode the JSON spans the console exporter wrote between other stdout lines."""
    decoder = json.JSONDecoder()
    return [
        decoder.raw_decode(text, match.start())[0]
        for match in re.finditer(r"^\{$", text, flags=re.MULTILINE)
    ]


def test_a_worker_traces_after_fork_and_flushes_its_spans_on_exit(tmp_path: Path) -> None:
    env = process_env(tmp_path)
    env.update(
        OTEL_TRACES_EXPORTER="console",
        OTEL_BSP_SCHEDULE_DELAY="600000",
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment.name=test",
    )
    argv = ["-m", "gunicorn", "-c", str(SERVICE_DIR / "gunicorn.conf.py")]
    trace_id, caller = secrets.token_hex(16), secrets.token_hex(8)
    # gunicorn serves the socket the test bound: no other process can take the port meanwhile.
    with bound_socket() as sock:
        port = port_of(sock)
        argv += ["--bind", f"fd://{sock.fileno()}"]
        process = start(argv, env, tmp_path, pass_fds=[sock.fileno()])
    try:
        wait_until(lambda: _healthy(f"http://127.0.0.1:{port}/healthz"), process, 30)
        headers = {"traceparent": f"00-{trace_id}-{caller}-01"}
        response = httpx.get(f"http://127.0.0.1:{port}/nowhere", headers=headers, timeout=5)
    finally:
        code = stop(process)

    assert (response.status_code, code) == (404, 0)
    spans = _console_spans((tmp_path / "stdout.log").read_text())
    [server] = [s for s in spans if s["context"]["trace_id"] == f"0x{trace_id}"]
    assert server["kind"] == "SpanKind.SERVER"
    assert server["parent_id"] == f"0x{caller}", "the caller's trace is continued"
    assert server["attributes"]["http.response.status_code"] == 404
    resource = server["resource"]["attributes"]
    assert resource["service.name"] == "core"
    assert resource["service.version"]
    assert resource["deployment.environment.name"] == resource["deployment.environment"] == "test"


@pytest.mark.parametrize(("disabled", "instrumented"), [("false", True), ("true", False)])
def test_a_worker_with_tracing_off_runs_no_tracing_middleware(
    tmp_path: Path, disabled: str, instrumented: bool
) -> None:
    env = {**process_env(tmp_path), "OTEL_SDK_DISABLED": disabled}
    django = "opentelemetry.instrumentation.django:DjangoInstrumentor"
    assert instrumented_after_fork(SERVICE_DIR / "gunicorn.conf.py", django, env) is instrumented
