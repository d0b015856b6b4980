"""Progressive rollouts of /api/search against the real stack, judged on evidence.

Each test runs ``strangler rollout`` as an operator would (a process of its own, exit code and
ledger), with short intervals and small minimum samples, while a background load of many sticky
users searches through the gateway. rag is made worse with its runtime faults; the ledger must
name the gate that caught it, with both sides' numbers and trace ids that exist in the trace store.
"""

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from devstack import Stack
from strangler_gateway.routetable import load_route_table
from strangler_gateway.traffic.rollout import read_ledger
from strangler_testing import wait_until

pytestmark = [pytest.mark.stack, pytest.mark.usefixtures("restore_routes")]

FAST = ["--interval", "1", "--min-requests", "30", "--min-users", "10", "--deadline", "8"]
# For a slowed side: its users' requests take longer, so the same evidence takes more intervals.
PATIENT = [*FAST[:-1], "30"]
USERS = 300


class SearchLoad:
    """Searches from many sticky users at a steady pace, in a thread, until stopped."""

    def __init__(self, url: str, users: list[str], rate: float = 80.0) -> None:
        self._url, self._users, self._pause = url, users, 1.0 / rate
        self._stop = threading.Event()
        self.sent = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "SearchLoad":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        rng = random.Random(3)
        with httpx.Client(base_url=self._url, timeout=10) as client:
            while not self._stop.is_set():
                user = rng.choice(self._users)
                # The gateway's log is the evidence, not this client's view.
                with contextlib.suppress(httpx.HTTPError):
                    client.get("/api/search", params={"q": "invoice", "k": 2},
                               headers={"X-User-Id": user})  # fmt: skip
                self.sent += 1
                self._stop.wait(self._pause)


def _strangler(stack: Stack, *args: str) -> list[str]:
    return [sys.executable, "-m", "strangler_gateway.cli", "--routes", str(stack.config.routes),
            "--prefix", str(stack.config.nginx_prefix), *args]  # fmt: skip


def _env(stack: Stack) -> dict[str, str]:
    return {**os.environ, "STRANGLER_SERVICE_TOKEN": stack.secrets.service_token,
            "STRANGLER_SHADOW_DB": str(stack.config.data_dir / "shadow.sqlite3")}  # fmt: skip


def _run(stack: Stack, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_strangler(stack, *args), capture_output=True, text=True,
                          timeout=timeout, env=_env(stack), check=False)  # fmt: skip


def _spawn(stack: Stack, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(_strangler(stack, *args), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=_env(stack))  # fmt: skip


def _ledger(stack: Stack) -> list[dict[str, Any]]:
    entries = read_ledger(stack.config.nginx_prefix / "rollouts" / "search.jsonl")
    last = [e for e in entries if e["event"] == "started"][-1]["rollout_id"]
    return [e for e in entries if e["rollout_id"] == last]


def _route(stack: Stack) -> tuple[str, int | None]:
    route = load_route_table(stack.config.routes).route("search")
    return str(route.mode), route.percent if route.mode.takes_percent else None


@pytest.fixture
def url(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.config.ports.gateway}"


@pytest.fixture
def legacy_search(stack: Stack, set_route: Callable[..., None]) -> None:
    set_route("search", "legacy")


@pytest.fixture
def faults(stack: Stack) -> Iterator[Callable[..., None]]:
    """Set rag's faults for one test; clear them afterwards."""
    url = f"http://127.0.0.1:{stack.config.ports.rag_http}/internal/faults"
    headers = {"Authorization": f"Bearer {stack.secrets.service_token}"}

    def put(**flags: Any) -> None:
        httpx.put(url, json=flags, headers=headers, timeout=10).raise_for_status()

    yield put
    put()


def _users(count: int = USERS) -> list[str]:
    return [f"user-{number}" for number in range(count)]


@pytest.mark.usefixtures("legacy_search")
def test_a_healthy_rollout_reaches_migrated_and_every_step_passed(stack: Stack, url: str) -> None:
    with SearchLoad(url, _users()):
        done = _run(stack, "rollout", "start", "search", "--steps", "25,50",
                    "--shadow-percent", "100", "--min-comparisons", "20", *FAST)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert _route(stack) == ("migrated", None)
    ledger = _ledger(stack)
    judged = [e for e in ledger if e["event"] == "judged" and e["outcome"] == "passed"]
    assert [(e["step"]["kind"], e["step"]["weight"]) for e in judged] == [
        ("shadow", 100), ("canary", 25), ("canary", 50)]  # fmt: skip
    shadow, *canaries = judged
    assert shadow["comparisons"] >= 20 and shadow["parity"] >= 0.99, "honest answers match"
    for entry in canaries:
        assert (
            entry["sides"]["new"]["requests"] >= 30 and entry["sides"]["legacy"]["requests"] >= 30
        )
        assert {g["name"]: g["verdict"] for g in entry["gates"]} == {
            "errors": "pass", "latency": "pass", "split": "pass"}  # fmt: skip
    assert ledger[-1]["event"] == "completed"
    status = _run(stack, "rollout", "status", "search")
    assert status.returncode == 0 and ": completed" in status.stdout, status.stderr


@pytest.mark.usefixtures("legacy_search")
def test_twenty_percent_errors_fail_the_first_step_and_roll_back(
    stack: Stack, url: str, faults: Callable[..., None]
) -> None:
    set_fault = _run(stack, "fault", "rag", "--error-rate", "0.2")
    assert set_fault.returncode == 0 and "20% errors" in set_fault.stdout, set_fault.stderr
    assert "faults: rag: 20% errors" in _run(stack, "routes").stdout
    with SearchLoad(url, _users()):
        done = _run(stack, "rollout", "start", "search", "--no-shadow", "--steps", "50", *FAST)
        assert _route(stack) == ("legacy", None)
    assert done.returncode == 4, done.stdout + done.stderr
    ledger = _ledger(stack)
    failed = [e for e in ledger if e["event"] == "rolled_back"]
    assert len(failed) == 1 and failed[0]["step"]["weight"] == 50
    entry = failed[0]
    errors = next(g for g in entry["gates"] if g["name"] == "errors")
    assert errors["verdict"] == "fail" and errors["p_value"] < 0.05
    assert entry["sides"]["new"]["errors"] > 0 and entry["sides"]["legacy"]["errors"] == 0
    assert "errors gate failed" in entry["reason"]
    assert 1 <= len(entry["trace_ids"]) <= 5
    traces = f"http://127.0.0.1:{stack.config.ports.traces}/api/traces"
    for trace_id in entry["trace_ids"]:

        def stored(url: str = f"{traces}/{trace_id}") -> bool:
            return httpx.get(url, timeout=5).status_code == 200

        _poll(stored)


@pytest.mark.usefixtures("legacy_search")
def test_added_latency_fails_against_legacy_though_the_ceiling_would_pass(
    stack: Stack, url: str, faults: Callable[..., None]
) -> None:
    faults(added_latency_seconds=0.3)
    with SearchLoad(url, _users()):
        done = _run(stack, "rollout", "start", "search", "--no-shadow", "--steps", "50", *PATIENT)
    assert done.returncode == 4, done.stdout + done.stderr
    entry = next(e for e in _ledger(stack) if e["event"] == "rolled_back")
    latency = next(g for g in entry["gates"] if g["name"] == "latency")
    assert latency["verdict"] == "fail" and "slower than legacy" in latency["reason"]
    assert 300 <= latency["numbers"]["new_p99_ms"] < latency["numbers"]["ceiling_ms"]
    assert _route(stack) == ("legacy", None)


@pytest.mark.usefixtures("legacy_search")
def test_without_load_the_rollout_stalls_and_the_route_stays(stack: Stack) -> None:
    done = _run(stack, "rollout", "start", "search", "--no-shadow", "--steps", "50",
                "--interval", "0.5", "--min-requests", "30", "--deadline", "3")  # fmt: skip
    assert done.returncode == 5, done.stdout + done.stderr
    assert "requests on new" in done.stdout
    assert _route(stack) == ("legacy", None)
    ledger = _ledger(stack)
    assert [e["outcome"] for e in ledger if e["event"] == "judged"] == ["inconclusive"] * 3
    assert ledger[-1]["event"] == "stalled" and "requests on" in ledger[-1]["reason"]


@pytest.mark.usefixtures("legacy_search")
def test_a_field_injected_into_rag_fails_the_shadow_parity_gate(
    stack: Stack, url: str, faults: Callable[..., None]
) -> None:
    faults(inject_field="ranker")
    with SearchLoad(url, _users()):
        done = _run(stack, "rollout", "start", "search", "--steps", "50", "--shadow-percent",
                    "100", "--min-comparisons", "20", *FAST)  # fmt: skip
    assert done.returncode == 4, done.stdout + done.stderr
    entry = next(e for e in _ledger(stack) if e["event"] == "rolled_back")
    assert entry["step"]["kind"] == "shadow"
    parity = entry["gates"][0]
    assert parity["name"] == "parity" and parity["verdict"] == "fail"
    assert entry["comparisons"] >= 20 and entry["parity"] < 0.5


@pytest.fixture
def legacy_noise(stack: Stack) -> Iterator[str]:
    """Make core stamp every API answer with a field that differs each time; clear it after."""
    field = "served_at"
    done = _run(stack, "fault", "core", "--noise-field", field)
    assert done.returncode == 0 and f"noise in field '{field}'" in done.stdout, done.stderr
    yield field
    assert _run(stack, "fault", "core", "--clear").returncode == 0


@pytest.mark.usefixtures("legacy_search")
def test_legacy_noise_is_cancelled_and_the_shadow_parity_gate_passes(
    stack: Stack, url: str, legacy_noise: str
) -> None:
    assert f"faults: core: noise in field '{legacy_noise}'" in _run(stack, "routes").stdout

    def noisy_answers() -> set[str]:
        answers = [httpx.get(f"{url}/api/search", params={"q": "invoice"}).json() for _ in range(8)]
        return {answer[legacy_noise] for answer in answers if legacy_noise in answer}

    # Every worker, the one that did not take the PUT too, within a second; a new value each time.
    wait_until(lambda: len(noisy_answers()) == 8, timeout=5, what="8 noisy answers, all unlike")
    started = time.time()
    with SearchLoad(url, _users()):
        done = _run(stack, "rollout", "start", "search", "--steps", "50", "--shadow-percent",
                    "100", "--min-comparisons", "20", *FAST)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    # The shadow step may be judged inconclusive first (too few comparisons yet), never failed.
    shadow = [e for e in _ledger(stack) if e["event"] == "judged" and e["step"]["kind"] == "shadow"]
    assert [e["outcome"] for e in shadow][-1] == "passed"
    assert set(e["outcome"] for e in shadow) <= {"inconclusive", "passed"}
    assert shadow[-1]["comparisons"] >= 20 and shadow[-1]["parity"] >= 0.99
    # The field differed between legacy's two answers, so the comparator ignored it as noise.
    with contextlib.closing(sqlite3.connect(stack.config.data_dir / "shadow.sqlite3")) as db:
        (noisy,) = db.execute(
            "SELECT count(*) FROM comparisons WHERE route = 'search' AND time >= ? "
            "AND outcome = 'match' AND noise LIKE ?", (started, f'%"{legacy_noise}"%')
        ).fetchone()  # fmt: skip
    assert noisy >= 20


@pytest.mark.usefixtures("legacy_search")
def test_a_skewed_split_fails_the_srm_gate(stack: Stack, url: str) -> None:
    with ThreadPoolExecutor(8) as pool:
        buckets = dict(
            zip(_users(), pool.map(lambda user: _bucket(url, user), _users()), strict=True)
        )
    new_side = [user for user, bucket in buckets.items() if bucket < 50]
    legacy_side = [user for user, bucket in buckets.items() if bucket >= 50]
    # Most users on new: what a client that picks its side, or a lost cookie, would look like.
    skewed = new_side[:100] + legacy_side[:15]
    with SearchLoad(url, skewed):
        done = _run(stack, "rollout", "start", "search", "--no-shadow", "--steps", "50", *FAST)
    assert done.returncode == 4, done.stdout + done.stderr
    entry = next(e for e in _ledger(stack) if e["event"] == "rolled_back")
    split = next(g for g in entry["gates"] if g["name"] == "split")
    assert (
        split["verdict"] == "fail"
        and split["numbers"]["new_users"] > split["numbers"]["legacy_users"]
    )


@pytest.mark.usefixtures("legacy_search")
def test_a_killed_controller_resumes_without_repeating_a_passed_step(
    stack: Stack, url: str
) -> None:
    args = ["rollout", "start", "search", "--no-shadow", "--steps", "25,50", *FAST]
    known = {("legacy", None), ("canary", 25), ("canary", 50), ("migrated", None)}
    with SearchLoad(url, _users()):
        controller = _spawn(stack, *args)
        try:
            _poll(lambda: any(e["event"] == "judged" and e["outcome"] == "passed"
                              for e in _safe_ledger(stack)), seconds=60)  # fmt: skip
        finally:
            controller.send_signal(signal.SIGKILL)
            controller.wait(10)
        assert _route(stack) in known
        served = httpx.get(f"{url}/api/search?q=x", headers={"X-User-Id": "u"}, timeout=5)
        assert served.headers["x-gateway-config"] == _live_config(stack)
        done = _run(stack, "rollout", "resume", "search")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _route(stack) == ("migrated", None)
    ledger = _ledger(stack)
    passed = [e["step"]["index"] for e in ledger if e.get("outcome") == "passed"]
    assert passed == sorted(set(passed)) == [0, 1]
    assert "resumed" in [e["event"] for e in ledger]


@pytest.mark.usefixtures("legacy_search")
def test_a_manual_rollback_during_a_rollout_wins_and_is_recorded(
    stack: Stack, url: str, set_route: Callable[..., None]
) -> None:
    args = ["rollout", "start", "search", "--no-shadow", "--steps", "50", "--interval", "1",
            "--min-requests", "100000", "--deadline", "60"]  # fmt: skip
    controller = _spawn(stack, *args)
    try:
        _poll(lambda: _route(stack) == ("canary", 50), seconds=30)
        set_route("search", "legacy")
        assert controller.wait(30) == 4
    finally:
        if controller.poll() is None:
            controller.kill()
    assert _route(stack) == ("legacy", None)
    assert _ledger(stack)[-1]["event"] == "manual_rollback"


def _safe_ledger(stack: Stack) -> list[dict[str, Any]]:
    try:
        return _ledger(stack)
    except IndexError:
        return []


def _live_config(stack: Stack) -> str:
    status = httpx.get(f"http://127.0.0.1:{stack.config.ports.gateway}/__gateway/status", timeout=5)
    return str(status.json()["config"])


def _bucket(url: str, user: str) -> int:
    reply = httpx.get(f"{url}/healthz", headers={"X-User-Id": user}, timeout=5)
    return int(reply.headers["x-migration-bucket"])


def _poll(check: Callable[[], Any], *, seconds: float = 15.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {seconds} s")
