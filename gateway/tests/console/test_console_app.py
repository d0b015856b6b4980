"""The console app on its own: what it shows from the gateway's files, and who may act."""

import functools
import json
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from strangler_gateway.console import ConsoleSettings, create_app
from strangler_gateway.console.records import ledger_path
from strangler_gateway.routetable import Compare, load_route_table
from strangler_gateway.shadow.models import Comparison, Outcome, PathDiff
from strangler_gateway.shadow.store import ShadowStore
from strangler_gateway.traffic.history import history_path
from strangler_gateway.traffic.rollout import RolloutFiles, RolloutState, read_ledger
from strangler_shared.identity import sign_identity
from strangler_testing import wait_until

ROOT = Path(__file__).resolve().parents[3]
SECRET = b"console-tests-identity-secret-0123456789abcdef"
SESSION = "a-django-session-key"


@pytest.fixture
def settings(tmp_path: Path) -> ConsoleSettings:
    routes = tmp_path / "routes.toml"
    shutil.copy(ROOT / "gateway" / "routes.toml", routes)
    prefix = tmp_path / "nginx"
    (prefix / "logs").mkdir(parents=True)
    return ConsoleSettings(
        routes=routes, prefix=prefix, shadow_db=tmp_path / "shadow.sqlite3", identity_secret=SECRET
    )


@pytest.fixture
def client(settings: ConsoleSettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as test_client:
        yield test_client


def _log(settings: ConsoleSettings, *entries: dict[str, Any]) -> None:
    with settings.layout.access_log.open("a") as log:
        for entry in entries:
            log.write(json.dumps(entry) + "\n")


def _entry(side: str, status: int = 200, seconds: float = 0.01, **more: Any) -> dict[str, Any]:
    now = datetime.now(UTC) - timedelta(seconds=5)
    return {"time": now.isoformat(), "route": "search", "mode": "canary", "split": 25,
            "target": side, "status": status, "request_time": seconds,
            "trace_id": f"{side}{status}".ljust(32, "0"), **more}  # fmt: skip


def _staff(client: TestClient, staff: bool = True) -> dict[str, str]:
    client.cookies.set("sessionid", SESSION)
    return {"X-Identity": sign_identity("7", staff=staff, secret=SECRET)}


def _csrf(client: TestClient, headers: dict[str, str]) -> str:
    page = client.get("/console/routes/search/confirm?action=promote", headers=headers).text
    return page.split('name="csrf_token" value="')[1].split('"')[0]


def test_the_overview_lists_every_route_with_its_mode_split_and_figures(
    client: TestClient, settings: ConsoleSettings
) -> None:
    _log(settings, _entry("legacy"), _entry("legacy"), _entry("new", status=502))
    page = client.get("/console/").text
    for route in load_route_table(settings.routes).routes:
        assert f'data-route="{route.name}"' in page
        assert f'data-mode="{route.mode}"' in page
    assert "100 % to new" in page  # stripe-webhooks is migrated
    assert "core-grpc" in page and "strangler.rag.v1.RagService" in page
    assert "/console/static/console.css" in page and "http" not in page.split("<body>")[0]


def test_a_routes_page_shows_figures_history_and_ledger(
    client: TestClient, settings: ConsoleSettings
) -> None:
    _log(settings, _entry("legacy"), _entry("new", status=503, seconds=0.2))
    history_path(settings.prefix).write_text(json.dumps({
        "time": "2026-12-01T20:00:00Z", "route": "search", "actor": "console:7",
        "from": {"mode": "legacy", "percent": None}, "to": {"mode": "shadow", "percent": 10},
        "config_id": "cafe1234"}) + "\n")  # fmt: skip
    ledger = ledger_path(settings.prefix, "search")
    ledger.parent.mkdir()
    gate = {"name": "errors", "verdict": "fail", "test": "fisher exact", "p_value": 0.0004,
            "confidence": 0.99, "numbers": {"legacy_errors": 0, "new_errors": 9},
            "reason": "new fails more often than legacy"}  # fmt: skip
    ledger.write_text(json.dumps({
        "time": "2026-12-01T20:05:00Z", "route": "search", "rollout_id": "r-42", "event": "judged",
        "step": {"index": 1, "kind": "canary", "weight": 5}, "gates": [gate], "outcome": "failed",
        "reason": "the errors gate failed", "trace_ids": ["ab" * 16]}) + "\n")  # fmt: skip
    page = client.get("/console/routes/search").text
    assert "console:7" in page and "cafe1234" in page
    assert "r-42" in page and "fisher exact" in page and "new fails more often" in page
    assert f'href="/traces/trace/{"ab" * 16}"' in page
    assert 'href="/traces/trace/new503' in page  # the error's trace, from the access log


def test_a_route_s_page_links_only_traces_the_store_recorded(
    client: TestClient, settings: ConsoleSettings
) -> None:
    # The slowest request and an error were not sampled (trace_sample_percent below 100): the
    # trace store has no trace of them, so the page links the recorded error and request instead.
    _log(
        settings,
        _entry("new", status=502, seconds=0.9, sampled=False),
        _entry("new", status=503, seconds=0.2, sampled=True),
        _entry("legacy", seconds=0.9, sampled=False, trace_id="c" * 32),
        _entry("legacy", seconds=0.1, sampled=True, trace_id="d" * 32),
    )
    page = client.get("/console/routes/search").text
    assert 'href="/traces/trace/new503' in page and f'href="/traces/trace/{"d" * 32}"' in page
    assert "new502" not in page and "c" * 32 not in page


def test_the_pages_say_so_when_the_gateway_samples_a_share_of_the_traces(
    client: TestClient, settings: ConsoleSettings
) -> None:
    assert 'id="sampling"' not in client.get("/console/").text, "every trace: nothing to say"
    text = settings.routes.read_text()
    settings.routes.write_text(
        text.replace("trace_sample_percent = 100", "trace_sample_percent = 5")
    )

    def says_so(page: str) -> bool:
        return 'id="sampling"' in client.get(page).text

    for page in ("/console/", "/console/routes/search"):
        wait_until(functools.partial(says_so, page), timeout=10)
        assert "samples 5 % of the traces it starts" in client.get(page).text


def test_a_diff_links_the_user_s_trace_only_when_it_was_recorded(
    client: TestClient, settings: ConsoleSettings
) -> None:
    with ShadowStore(settings.shadow_db) as store:
        for uri, user_trace in (("/api/search?q=kept", "ab" * 16), ("/api/search?q=not", "")):
            store.record(Comparison(
                time=time.time(), route="search", method="GET", uri=uri, request_id="r1",
                trace_id=user_trace, outcome=Outcome.DIFF, rule=Compare.SEARCH,
                diffs=(PathDiff("k", 5, 3),), shadow_trace_id=f"{uri[-3:]:0>32}",
            ))  # fmt: skip
    page = client.get("/console/routes/search").text
    diffs = {d.split("</code>")[0]: d for d in page.split('<article class="diff"')[1:]}
    kept, unsampled = (next(d for k, d in diffs.items() if uri in k) for uri in ("kept", "=not"))
    assert f'href="/traces/trace/{"ab" * 16}">user\'s trace' in kept
    assert "user's trace" not in unsampled and 'href="/traces/trace/"' not in unsampled
    assert f'href="/traces/trace/{"not":0>32}">comparison\'s trace' in unsampled


def test_an_action_without_a_staff_session_is_refused_and_changes_nothing(
    client: TestClient, settings: ConsoleSettings
) -> None:
    before = settings.routes.read_text()
    anonymous = client.post("/console/routes/search/actions/shift", data={"percent": "25"})
    headers = _staff(client, staff=False)
    not_staff = client.post(
        "/console/routes/search/actions/shift", data={"percent": "25"}, headers=headers
    )
    forged = client.post(
        "/console/routes/search/actions/shift",
        data={"percent": "25"},
        headers={"X-Identity": sign_identity("7", staff=True, secret=b"x" * 40)},
    )
    assert [r.status_code for r in (anonymous, not_staff, forged)] == [403, 403, 403]
    assert "not signed in" in anonymous.text and "not a staff user" in not_staff.text
    assert "did not verify" in forged.text
    assert settings.routes.read_text() == before


def test_an_action_without_the_csrf_token_is_refused_and_changes_nothing(
    client: TestClient, settings: ConsoleSettings
) -> None:
    before = settings.routes.read_text()
    headers = _staff(client)
    missing = client.post(
        "/console/routes/search/actions/shift", data={"percent": "25"}, headers=headers
    )
    wrong = client.post(
        "/console/routes/search/actions/shift",
        data={"percent": "25", "csrf_token": "0" * 64},
        headers=headers,
    )
    assert (missing.status_code, wrong.status_code) == (403, 403)
    assert "CSRF" in missing.text
    assert settings.routes.read_text() == before


def test_a_staff_user_confirms_then_shifts(client: TestClient, settings: ConsoleSettings) -> None:
    headers = _staff(client)
    confirm = client.get("/console/routes/search/confirm?action=shift&percent=25", headers=headers)
    assert "from <strong>legacy</strong> to <strong>canary 25%</strong>" in confirm.text
    done = client.post(
        "/console/routes/search/actions/shift",
        data={"percent": "25", "csrf_token": _csrf(client, headers)},
        headers=headers,
    )
    assert done.status_code == 200, done.text
    route = load_route_table(settings.routes).route("search")
    assert (route.mode, route.percent) == ("canary", 25)
    (change,) = [
        json.loads(line) for line in history_path(settings.prefix).read_text().splitlines()
    ]
    assert change["actor"] == "console:7"
    assert (change["from"], change["to"]) == (
        {"mode": "legacy", "percent": None},
        {"mode": "canary", "percent": 25},
    )
    assert change["config_id"] in done.text


def test_a_refused_change_says_why_and_changes_nothing(
    client: TestClient, settings: ConsoleSettings
) -> None:
    before = settings.routes.read_text()
    headers = _staff(client)
    refused = client.post(
        "/console/routes/search/actions/shift",
        data={"percent": "250", "csrf_token": _csrf(client, headers)},
        headers=headers,
    )
    assert refused.status_code == 409
    assert "percent must be from 0 to 100" in refused.text
    assert settings.routes.read_text() == before


def test_production_settings_need_staff_to_read(settings: ConsoleSettings) -> None:
    production = ConsoleSettings(**{**vars(settings), "staff_to_read": True})
    with TestClient(create_app(production), base_url="http://127.0.0.1") as client:
        assert client.get("/console/").status_code == 403
        assert client.get("/console/", headers=_staff(client)).status_code == 200


def _rollout_csrf(client: TestClient, headers: dict[str, str]) -> str:
    page = client.get("/console/routes/search/confirm?action=start-rollout", headers=headers).text
    return page.split('name="csrf_token" value="')[1].split('"')[0]


def _gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


def test_a_staff_user_starts_then_aborts_a_rollout(
    client: TestClient, settings: ConsoleSettings
) -> None:
    headers = _staff(client)
    confirm = client.get("/console/routes/search/confirm?action=start-rollout", headers=headers)
    assert "start a rollout of route <strong>search</strong>" in confirm.text
    assert "shadow 10% -&gt; canary 1% -&gt; canary 5%" in confirm.text
    started = client.post(
        "/console/routes/search/actions/start-rollout",
        data={"csrf_token": _rollout_csrf(client, headers)},
        headers=headers,
    )
    assert started.status_code == 200, started.text
    pid = int(started.text.split('id="controller-pid">')[1].split("<")[0])
    state = RolloutState.read(RolloutFiles.of(settings.prefix, "search"))
    assert state is not None and state.rollout_id in started.text
    assert [e["event"] for e in read_ledger(ledger_path(settings.prefix, "search"))] == ["started"]
    again = client.post(
        "/console/routes/search/actions/start-rollout",
        data={"csrf_token": _csrf(client, headers)},
        headers=headers,
    )
    assert again.status_code == 409 and "abort it first" in again.text
    aborted = client.post(
        "/console/routes/search/actions/abort-rollout",
        data={"csrf_token": _csrf(client, headers)},
        headers=headers,
    )
    assert aborted.status_code == 200, aborted.text
    assert load_route_table(settings.routes).route("search").mode == "legacy"
    wait_until(lambda: _gone(pid), timeout=20, what="the controller stops after the abort")
    events = [e["event"] for e in read_ledger(ledger_path(settings.prefix, "search"))]
    assert events[0] == "started" and events[-1] == "aborted"
    final = RolloutState.read(RolloutFiles.of(settings.prefix, "search"))
    assert final is not None and final.status == "aborted"


def test_a_rollout_action_without_staff_or_csrf_is_refused_and_starts_nothing(
    client: TestClient, settings: ConsoleSettings
) -> None:
    before = settings.routes.read_text()
    anonymous = client.post("/console/routes/search/actions/start-rollout", data={})
    token = _rollout_csrf(client, _staff(client))
    headers = _staff(client, staff=False)
    not_staff = client.post(
        "/console/routes/search/actions/start-rollout",
        data={"csrf_token": token},
        headers=headers,
    )
    no_csrf = client.post(
        "/console/routes/search/actions/start-rollout", data={}, headers=_staff(client)
    )
    assert [r.status_code for r in (anonymous, not_staff, no_csrf)] == [403, 403, 403]
    assert "CSRF" in no_csrf.text
    assert RolloutState.read(RolloutFiles.of(settings.prefix, "search")) is None
    assert settings.routes.read_text() == before
    nothing = client.post(
        "/console/routes/search/actions/abort-rollout",
        data={"csrf_token": token},
        headers=_staff(client),
    )
    assert nothing.status_code == 409 and "no rollout of &#39;search&#39; to abort" in nothing.text


def test_the_overview_shows_a_change_at_once_not_after_the_push_interval(
    client: TestClient, settings: ConsoleSettings
) -> None:
    before = client.get("/console/").text  # the snapshot is taken here
    headers = _staff(client)
    done = client.post(
        "/console/routes/search/actions/shift",
        data={"percent": "40", "csrf_token": _csrf(client, headers)},
        headers=headers,
    )
    assert done.status_code == 200, done.text
    after = client.get("/console/").text  # well within push_seconds / 2 of the first

    row = '<tr class="route-row side-legacy" data-route="search"'
    assert 'data-mode="legacy"' in before.split(row)[1].split("</tr>")[0]
    assert 'data-mode="canary"' in after.split(row)[1].split("</tr>")[0]
