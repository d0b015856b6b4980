"""The ``strangler`` command: tables for people, edits that keep comments, one-line refusals."""

import json
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from strangler_gateway.cli import main
from strangler_gateway.nginx.process import render_live
from strangler_gateway.routetable import Mode, load_route_table
from strangler_gateway.traffic.stats import sample_ratio_mismatch
from strangler_testing.gateway import EchoUpstream, Reply, RunningGateway, fetch, free_port

from .conftest import MakeGateway, table_text


def _run(table: Path, prefix: Path, *args: str) -> int:
    return main(["--routes", str(table), "--prefix", str(prefix), *args])


def test_routes_lists_every_route(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "routes.toml"
    table.write_text(table_text('mode = "canary"\npercent = 30'))
    assert _run(table, tmp_path / "nginx", "routes") == 0
    out = capsys.readouterr().out
    for name in ("search", "hooks", "gone", "stream", "catch-all"):
        assert name in out
    search = next(line for line in out.splitlines() if " search " in line)
    assert "canary" in search and "30%" in search and "monolith" in search
    assert "traces: every request's trace is sampled" in out


def test_routes_says_which_share_of_traces_the_gateway_samples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "routes.toml"
    table.write_text(table_text().replace("[gateway]\n", "[gateway]\ntrace_sample_percent = 2.5\n"))
    assert _run(table, tmp_path / "nginx", "routes") == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "traces: the gateway samples 2.5 % of the traces it starts" in out


def test_render_writes_what_apply_would_install(tmp_path: Path) -> None:
    table = tmp_path / "routes.toml"
    table.write_text(table_text())
    out = tmp_path / "nginx.conf"
    assert _run(table, tmp_path / "nginx", "render", "--out", str(out)) == 0
    assert out.read_text() == render_live(table, tmp_path / "nginx")[0]


def test_check_runs_nginx_on_the_rendered_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "routes.toml"
    table.write_text(table_text())
    assert _run(table, tmp_path / "nginx", "check") == 0
    assert "nginx accepts" in capsys.readouterr().out


def test_shift_edits_the_table_and_moves_live_traffic(
    make_gateway: MakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway = make_gateway('mode = "legacy"  # search starts on the monolith')
    before = gateway.table_path.read_text()
    assert _run(gateway.table_path, gateway.prefix, "shift", "search", "100") == 0
    after = gateway.table_path.read_text()
    assert "# A route table for the gateway's own tests." in after
    changed = [line for line in after.splitlines() if line not in before.splitlines()]
    assert changed == ['mode = "canary"  # search starts on the monolith', "percent = 100"]
    assert "gateway reloaded" in capsys.readouterr().out
    reply = gateway.fetch("/api/search?q=x", headers={"Cookie": "sf_uid=ana"})
    assert reply.headers["x-served-by"] == "new"


def test_mode_sets_a_mode_and_drops_the_percent(tmp_path: Path) -> None:
    table = tmp_path / "routes.toml"
    table.write_text(table_text('mode = "canary"\npercent = 30'))
    assert _run(table, tmp_path / "nginx", "mode", "search", "migrated") == 0
    route = load_route_table(table).route("search")
    assert (route.mode, route.percent) == (Mode.MIGRATED, None)
    assert "percent" not in table.read_text()
    assert _run(table, tmp_path / "nginx", "mode", "search", "canary", "--percent", "5") == 0
    assert load_route_table(table).route("search").percent == 5


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("shift", "search", "130"), "field 'percent': 130 is outside 0..100"),
        (("shift", "nope", "10"), "no route named 'nope'"),
        (("mode", "search", "shadow"), "mode 'shadow' needs a percent"),
        (("mode", "search", "canary"), "mode 'canary' needs a percent"),
        (("mode", "search", "legacy", "--percent", "3"), "only modes 'canary' and 'shadow'"),
        (("mode", "search", "sideways"), "unknown mode 'sideways'"),
        (("promote", "gone"), "route 'gone' is retired"),
        (("promote", "hooks"), "`strangler mode hooks retired`"),
        (("rollback", "nope"), "no route named 'nope'"),
    ],
)
def test_a_refused_change_is_one_line_and_leaves_the_table_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], problem: str
) -> None:
    table = tmp_path / "routes.toml"
    table.write_text(table_text())
    assert _run(table, tmp_path / "nginx", *args) == 1
    err = capsys.readouterr().err
    assert err.startswith("strangler: ") and err.count("\n") == 1, err
    assert problem in err
    assert table.read_text() == table_text()


def test_apply_refuses_an_invalid_edit_naming_its_line_and_keeps_serving(
    make_gateway: MakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway = make_gateway('mode = "legacy"')
    live = gateway.nginx.layout.conf.read_text()
    served = gateway.fetch("/api/search?q=x").headers["x-gateway-config"]
    edited = table_text('mode = "canary"\npercent = 130')
    gateway.table_path.write_text(edited)
    line = edited.splitlines().index("percent = 130") + 1
    assert _run(gateway.table_path, gateway.prefix, "apply") == 1
    err = capsys.readouterr().err
    assert err.startswith(
        f"strangler: {gateway.table_path}:{line}: route 'search', field 'percent'"
    )
    assert "130 is outside 0..100" in err
    assert gateway.nginx.layout.conf.read_text() == live
    reply = gateway.fetch("/api/search?q=x", headers={"X-User-Id": "ana"})
    assert (reply.headers["x-gateway-config"], reply.headers["x-served-by"]) == (served, "legacy")
    gateway.table_path.write_text(table_text('mode = "canary"\npercent = 100'))
    assert _run(gateway.table_path, gateway.prefix, "apply") == 0
    assert "gateway reloaded" in capsys.readouterr().out
    assert gateway.fetch("/api/search?q=x").headers["x-served-by"] == "new"


def test_a_change_nginx_refuses_puts_the_table_back(
    make_gateway: MakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway = make_gateway('mode = "legacy"')
    before = gateway.table_path.read_text()
    # Make the next render unacceptable to nginx: an upstream server it cannot use.
    state = gateway.prefix / "conf" / "render.json"
    saved = json.loads(state.read_text())
    saved["upstream_overrides"]["service"] = ["127.0.0.1:0"]
    state.write_text(json.dumps(saved))
    assert _run(gateway.table_path, gateway.prefix, "shift", "search", "50") == 1
    assert "nginx refused the config" in capsys.readouterr().err
    assert gateway.table_path.read_text() == before
    assert gateway.fetch("/api/search?q=x").headers["x-served-by"] == "legacy"


@pytest.mark.parametrize(
    "command",
    [[], ["routes"], ["render"], ["check"], ["apply"], ["shift"], ["mode"], ["promote"],
     ["rollback"], ["stats"], ["k8s"], ["serve"]],
)  # fmt: skip
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    assert "usage: strangler" in capsys.readouterr().out


def test_serve_refuses_a_malformed_upstream(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    routes = Path(__file__).parents[1] / "routes.toml"
    status = main(
        ["--routes", str(routes), "--prefix", str(tmp_path), "serve", "--upstream", "core"]
    )
    assert status == 1
    assert "expected NAME=HOST:PORT" in capsys.readouterr().err


def test_serve_renders_for_the_given_addresses_and_runs_nginx(tmp_path: Path) -> None:
    routes = Path(__file__).parents[1] / "routes.toml"
    port = free_port()
    with EchoUpstream("core") as core:
        command = [sys.executable, "-m", "strangler_gateway.cli", "--routes", str(routes),
                   "--prefix", str(tmp_path), "serve", "--listen", f"127.0.0.1:{port}",
                   "--upstream", f"core={core.address}"]  # fmt: skip
        # As a context manager, so the output pipe is closed whatever happens.
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as server:
            try:
                reply = _first_reply(f"http://127.0.0.1:{port}", "/anything", server)
            finally:
                server.send_signal(signal.SIGQUIT)
                server.wait(timeout=15)
    assert reply.status == 200
    assert reply.json()["upstream"] == "core"
    assert reply.headers["x-served-by"] == "legacy"


def _first_reply(url: str, path: str, server: subprocess.Popen[bytes]) -> Any:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stdout.read() if server.stdout else ""
        try:
            return fetch(url, path)
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the gateway did not answer within 15 s")


def test_promote_climbs_the_ladder_one_step_at_a_time(
    make_gateway: MakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway = make_gateway('mode = "legacy"')
    climbed = []
    for _ in range(5):
        assert _run(gateway.table_path, gateway.prefix, "promote", "search") == 0
        route = load_route_table(gateway.table_path).route("search")
        climbed.append((str(route.mode), route.percent))
    assert climbed == [("shadow", 10), ("canary", 5), ("canary", 25), ("canary", 50),
                       ("migrated", None)]  # fmt: skip
    assert "gateway reloaded" in capsys.readouterr().out
    reply = gateway.fetch("/api/search?q=x")
    assert reply.headers["x-served-by"] == "new"
    assert _run(gateway.table_path, gateway.prefix, "promote", "search") == 1


def test_rollback_sends_everyone_back_to_legacy_at_once(make_gateway: MakeGateway) -> None:
    gateway = make_gateway('mode = "migrated"')
    assert gateway.fetch("/api/search?q=x").headers["x-served-by"] == "new"
    assert _run(gateway.table_path, gateway.prefix, "rollback", "search") == 0
    assert load_route_table(gateway.table_path).route("search").mode is Mode.LEGACY
    for user in range(20):
        reply = gateway.fetch("/api/search?q=x", headers={"X-User-Id": f"u{user}"})
        assert reply.headers["x-served-by"] == "legacy"


def _search_as(gateway: RunningGateway, user: str, **headers: str) -> Reply:
    return gateway.fetch("/api/search?q=x", headers={"X-User-Id": user, **headers})


def test_stats_shows_both_sides_and_passes_an_honest_split(
    make_gateway: MakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway = make_gateway('mode = "canary"\npercent = 30')
    sides = {f"user-{n}": _search_as(gateway, f"user-{n}").headers["x-served-by"]
             for n in range(600)}  # fmt: skip
    # Five busy users on legacy: more requests there, yet every user was split honestly.
    busy = [user for user, side in sides.items() if side == "legacy"][:5]
    for user in busy * 60:
        _search_as(gateway, user)
    lines = gateway.access_log_entries(at_least=900)
    requests = Counter(line["target"] for line in lines)
    assert sample_ratio_mismatch(requests["legacy"], requests["new"], 30).mismatch, requests
    assert _run(gateway.table_path, gateway.prefix, "stats", "search") == 0
    out = capsys.readouterr().out
    assert re.search(r"legacy\s+│\s+\d{3}\s", out) and re.search(r"new\s+│\s+\d{3}\s", out)
    assert "configured 30% new" in out and "SRM ok" in out
    counted = re.search(r"\((\d+) legacy / (\d+) new users\); SRM ok", out)
    assert counted and int(counted[1]) + int(counted[2]) == 600, "users are counted once each"


def test_stats_flags_a_skewed_split_through_the_gateway(
    make_gateway: MakeGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway = make_gateway('mode = "canary"\npercent = 30')
    # Forced requests tell each user's bucket and are left out of the check; then half the
    # users bound for legacy never come: new gets 30 of every 65 users instead of 30 of 100.
    buckets = {f"user-{n}": int(_search_as(gateway, f"user-{n}", **{"X-Migration-Target": "legacy"})
                                 .headers["x-migration-bucket"]) for n in range(800)}  # fmt: skip
    kept = [user for user, bucket in buckets.items() if bucket < 30 or bucket >= 65]
    for user in kept:
        _search_as(gateway, user)
    gateway.access_log_entries(at_least=800 + len(kept))
    assert _run(gateway.table_path, gateway.prefix, "stats", "search") == 3
    out = capsys.readouterr().out
    assert "SRM MISMATCH" in out and "sample ratio mismatch (p = " in out


def test_stats_exits_3_on_a_sample_ratio_mismatch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "routes.toml"
    table.write_text(table_text('mode = "canary"\npercent = 30'))
    log = tmp_path / "access.log"
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    line = {"time": now, "route": "search", "mode": "canary", "split": 30, "override": "",
            "status": 200, "fallback": False, "request_time": 0.01}  # fmt: skip
    lines = [{**line, "target": "new" if n < 500 else "legacy"} for n in range(1000)]
    log.write_text("".join(json.dumps(entry) + "\n" for entry in lines))
    assert _run(table, tmp_path / "nginx", "stats", "search", "--log", str(log)) == 3
    assert "SRM MISMATCH" in capsys.readouterr().out


@pytest.mark.parametrize("window", ["0", "-5", "soon", "inf"])
def test_stats_refuses_a_window_that_is_not_a_duration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], window: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        _run(tmp_path / "routes.toml", tmp_path, "stats", "search", "--window", window)
    assert exit_.value.code == 2
    assert "expected a number of seconds above 0" in capsys.readouterr().err


def test_stats_without_a_log_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "routes.toml"
    table.write_text(table_text())
    assert _run(table, tmp_path / "nginx", "stats", "search") == 1
    assert "cannot read the access log" in capsys.readouterr().err


def test_an_unusable_output_path_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "routes.toml"
    table.write_text(table_text())
    out = table / "routes.yaml"  # under a file, not a folder
    assert _run(table, tmp_path / "nginx", "k8s", "--out", str(out)) == 1
    err = capsys.readouterr().err
    assert err.startswith("strangler: ") and err.count("\n") == 1, err
    assert str(table) in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["core", "--error-rate", "0.2"], "not --error-rate (rag's)"),
        (["rag", "--noise-field", "served_at"], "--noise-field is core's fault"),
    ],
)
def test_a_fault_the_service_does_not_have_is_refused_before_any_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    table = tmp_path / "routes.toml"
    table.write_text(table_text())
    # No service runs: the refusal comes before the flags would be sent.
    assert _run(table, tmp_path / "nginx", "fault", *args) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_k8s_writes_the_gateway_api_manifests(tmp_path: Path) -> None:
    table = tmp_path / "routes.toml"
    table.write_text(table_text('mode = "canary"\npercent = 30'))
    out = tmp_path / "k8s" / "routes.yaml"
    assert _run(table, tmp_path / "nginx", "k8s", "--out", str(out), "--namespace", "shop") == 0
    documents = list(yaml.safe_load_all(out.read_text()))
    search = next(doc for doc in documents if doc["metadata"]["name"] == "search")
    assert search["metadata"]["namespace"] == "shop"
    weights = [ref["weight"] for ref in search["spec"]["rules"][-1]["backendRefs"]]
    assert weights == [70, 30]
