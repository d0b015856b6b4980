"""The adapter under the real gunicorn command: serves, forwards to core, and traces each request.

The server runs with ``OTEL_TRACES_EXPORTER=console`` and is stopped right after the request, well
before the batch exporter's 5 s schedule, so finding the spans on stdout also shows that a worker
flushes its spans when it exits.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
from webhooks.testing import SIGNING_SECRET, TOKEN, RunningCore, StripeSender, stripe_event

SERVICE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = SERVICE_DIR.parents[1]
DEADLINE_SECONDS = 30.0
_LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")

T = TypeVar("T")


def test_gunicorn_serves_forwards_and_traces(
    core: RunningCore, sender: StripeSender, tmp_path: Path
) -> None:
    body = stripe_event("customer.subscription.updated")

    with _gunicorn(core.target, tmp_path) as base_url:
        signature = sender.signature(body)
        response = httpx.post(
            f"{base_url}/webhooks/stripe", content=body, headers={"Stripe-Signature": signature}
        )

    assert response.status_code == 200, response.text
    assert response.headers["x-service"] == "webhooks"
    assert response.json()["outcome"] == "applied"
    [call] = core.servicer.calls
    assert call.request.payload == body
    assert call.metadata["authorization"] == f"Bearer {TOKEN}"
    trace_id = call.metadata["traceparent"].split("-")[1]
    spans = _console_spans((tmp_path / "stdout").read_text())
    server = _one(spans, "POST /webhooks/stripe", "SpanKind.SERVER")
    client = _one(spans, "/strangler.core.v1.CoreService/ApplyEvent", "SpanKind.CLIENT")
    assert server["context"]["trace_id"] == f"0x{trace_id}"
    assert server["attributes"]["http.route"] == "/webhooks/stripe"
    assert client["parent_id"] == server["context"]["span_id"]


@contextmanager
def _gunicorn(core_target: str, tmp_path: Path) -> Iterator[str]:
    """Run the brief's gunicorn command on a free port; yield its base URL; stop it."""
    argv = [
        sys.executable, "-m", "gunicorn", "webhooks:create_app()",
        "-c", str(SERVICE_DIR / "gunicorn.conf.py"), "--bind", "127.0.0.1:0",
    ]  # fmt: skip
    stdout, stderr = tmp_path / "stdout", tmp_path / "stderr"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            argv, cwd=REPO_ROOT, env=_env(core_target), stdout=out, stderr=err,
            start_new_session=True,
        )  # fmt: skip
    try:
        port = _poll(lambda: _listening_port(process, stderr))
        base_url = f"http://127.0.0.1:{port}"
        _poll(lambda: _healthy(base_url))
        yield base_url
    finally:
        _stop(process)


def _env(core_target: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "WEBHOOKS_"))}
    env.update(
        STRANGLER_SERVICE_TOKEN=TOKEN,
        WEBHOOKS_CORE_GRPC_TARGET=core_target,
        WEBHOOKS_STRIPE_SIGNING_SECRET=SIGNING_SECRET,
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


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=DEADLINE_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise


def _poll(check: Callable[[], T | None]) -> T:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"not ready within {DEADLINE_SECONDS} s")


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
