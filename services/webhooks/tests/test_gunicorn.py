"""The adapter under the real gunicorn command: accepts, relays to core, traces, survives a crash.

The server runs with ``OTEL_TRACES_EXPORTER=console`` and is stopped right after the delivery, well
before the batch exporter's 5 s schedule, so finding the spans on stdout also shows that a worker
stops its relay and flushes its spans when it exits.
"""

import json
import os
import re
import secrets
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from strangler_testing import instrumented_after_fork, wait_until
from strangler_testing.webhooks import (
    SIGNING_SECRET,
    TOKEN,
    RunningCore,
    StripeSender,
    stripe_event,
)
from webhooks.tracing import SPAN_NAME

SERVICE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = SERVICE_DIR.parents[1]
DEADLINE_SECONDS = 30.0
LEASE_SECONDS = 6.0
_LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")

T = TypeVar("T")


def test_gunicorn_accepts_relays_and_traces_the_delivery(
    core: RunningCore, sender: StripeSender, tmp_path: Path
) -> None:
    body = stripe_event("customer.subscription.updated")

    with _gunicorn(_env(core.target, tmp_path), tmp_path) as base_url:
        response = _post(base_url, sender, body, baggage="migration.route=stripe-webhooks")
        [call] = _poll(lambda: core.servicer.calls)

    assert response.status_code == 202, response.text
    assert response.headers["x-service"] == "webhooks"
    assert response.json()["outcome"] == "accepted"
    assert call.request.payload == body
    assert call.metadata["authorization"] == f"Bearer {TOKEN}"
    assert "migration.route=stripe-webhooks" in call.metadata["baggage"]
    spans = _console_spans((tmp_path / "stdout").read_text())
    server = _one(spans, "POST /webhooks/stripe", "SpanKind.SERVER")
    consumer = _one(spans, SPAN_NAME, "SpanKind.CONSUMER")
    client = _one(spans, "/strangler.core.v1.CoreService/ApplyEvent", "SpanKind.CLIENT")
    trace_id = server["context"]["trace_id"]
    assert server["attributes"]["http.route"] == "/webhooks/stripe"
    # intake -> delivery (parent and link) -> gRPC call, all in the intake's trace.
    assert consumer["parent_id"] == server["context"]["span_id"]
    assert [link["context"] for link in consumer["links"]] == [server["context"]]
    assert consumer["attributes"]["migration.route"] == "stripe-webhooks"
    assert client["parent_id"] == consumer["context"]["span_id"]
    assert consumer["context"]["trace_id"] == client["context"]["trace_id"] == trace_id
    assert call.metadata["traceparent"].split("-")[1:3] == [
        trace_id.removeprefix("0x"),
        client["context"]["span_id"].removeprefix("0x"),
    ]


def test_a_stop_signalled_to_every_process_still_stops_the_relay_cleanly(
    core: RunningCore, sender: StripeSender, tmp_path: Path
) -> None:
    # devstack, systemd (KillMode=control-group) and Kubernetes signal every process at once, so
    # a worker gets SIGTERM twice: its own, then the master's while it is stopping its relay.
    with _gunicorn(_env(core.target, tmp_path), tmp_path, group=True) as base_url:
        response = _post(base_url, sender, stripe_event())
        _poll(lambda: core.servicer.calls)

    assert response.status_code == 202, response.text
    stderr = (tmp_path / "stderr").read_text()
    assert "Traceback" not in stderr, stderr
    spans = _console_spans((tmp_path / "stdout").read_text())
    assert _one(spans, SPAN_NAME, "SpanKind.CONSUMER")["status"]["status_code"] == "UNSET"


def test_an_accepted_event_survives_a_killed_server(
    core: RunningCore, dead_target: str, sender: StripeSender, tmp_path: Path
) -> None:
    body = stripe_event()
    trace_id = secrets.token_hex(16)

    # core is down, so the event waits in the outbox; then the whole server dies at once. A
    # relay killed during its attempt leaves its lease to run out: a short one (still longer
    # than core's deadline) keeps that wait well inside the test's.
    lease = {"WEBHOOKS_OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS)}
    with _gunicorn(_env(dead_target, tmp_path) | lease, tmp_path, kill=True) as base_url:
        response = _post(base_url, sender, body, traceparent=f"00-{trace_id}-{'1' * 16}-01")
    assert response.status_code == 202, response.text

    with _gunicorn(_env(core.target, tmp_path) | lease, tmp_path):
        [call] = _poll(lambda: core.servicer.calls)

    assert call.request.payload == body
    assert call.metadata["traceparent"].split("-")[1] == trace_id, "still the intake's trace"


def _post(base_url: str, sender: StripeSender, body: bytes, **headers: str) -> httpx.Response:
    headers["Stripe-Signature"] = sender.signature(body)
    return httpx.post(f"{base_url}/webhooks/stripe", content=body, headers=headers)


@contextmanager
def _gunicorn(
    env: dict[str, str], tmp_path: Path, *, kill: bool = False, group: bool = False
) -> Iterator[str]:
    """Run the service's gunicorn command on a free port; yield its base URL; stop or kill it.

    ``group`` signals the stop to every process of the server, not only to its master.
    """
    argv = [
        sys.executable, "-m", "gunicorn", "webhooks:create_app()",
        "-c", str(SERVICE_DIR / "gunicorn.conf.py"), "--bind", "127.0.0.1:0",
    ]  # fmt: skip
    stdout, stderr = tmp_path / "stdout", tmp_path / "stderr"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            argv, cwd=REPO_ROOT, env=env, stdout=out, stderr=err,
            start_new_session=True,
        )  # fmt: skip
    try:
        port = _poll(lambda: _listening_port(process, stderr))
        base_url = f"http://127.0.0.1:{port}"
        _poll(lambda: _healthy(base_url))
        yield base_url
    finally:
        if kill:
            _kill(process)
        else:
            _stop(process, group=group)


@pytest.mark.parametrize(("disabled", "instrumented"), [("false", True), ("true", False)])
def test_a_worker_with_tracing_off_runs_no_tracing_middleware(
    disabled: str, instrumented: bool
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(OTEL_TRACES_EXPORTER="none", OTEL_SDK_DISABLED=disabled)
    flask = "opentelemetry.instrumentation.flask:FlaskInstrumentor"
    assert instrumented_after_fork(SERVICE_DIR / "gunicorn.conf.py", flask, env) is instrumented


def _env(core_target: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "WEBHOOKS_"))}
    env.update(
        STRANGLER_SERVICE_TOKEN=TOKEN,
        WEBHOOKS_CORE_GRPC_TARGET=core_target,
        WEBHOOKS_STRIPE_SIGNING_SECRET=SIGNING_SECRET,
        WEBHOOKS_OUTBOX_PATH=str(tmp_path / "outbox.sqlite3"),
        OTEL_TRACES_EXPORTER="console",
        GUNICORN_WORKERS="1",
    )
    return env


def _listening_port(process: subprocess.Popen[bytes], stderr: Path) -> int | None:
    if process.poll() is not None:
        raise AssertionError(f"gunicorn exited early:\n{stderr.read_text()}")
    match = _LISTENING.search(stderr.read_text())
    return int(match.group(1)) if match else None


def _healthy(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200
    except httpx.TransportError:
        return False


def _stop(process: subprocess.Popen[bytes], *, group: bool = False) -> None:
    if group:
        os.killpg(process.pid, signal.SIGTERM)
    else:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=DEADLINE_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise


def _kill(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=DEADLINE_SECONDS)


def _poll(check: Callable[[], T | None]) -> T:
    result = wait_until(check, timeout=DEADLINE_SECONDS, every=0.05)
    assert result is not None
    return result


def _console_spans(text: str) -> list[dict[str, Any]]:
    """Decode the JSON spans the console exporter wrote between other stdout lines."""
    decoder = json.JSONDecoder()
    spans = []
    for match in re.finditer(r"^\{$", text, flags=re.MULTILINE):
        span, _ = decoder.raw_decode(text, match.start())
        spans.append(span)
    return spans


def _one(spans: list[dict[str, Any]], name: str, kind: str) -> dict[str, Any]:
    [span] = [s for s in spans if s["name"] == name and s["kind"] == kind]
    return span
