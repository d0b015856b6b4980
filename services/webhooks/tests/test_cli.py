"""``python -m webhooks outbox``: the operator's view of the outbox, and retrying dead letters."""

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from strangler_testing.webhooks import LEASE_SECONDS
from webhooks.cli import main
from webhooks.events import VerifiedEvent
from webhooks.outbox import Outbox, Status

REPO_ROOT = Path(__file__).resolve().parents[3]


def _fail(outbox: Outbox, event_id: str) -> None:
    body = json.dumps({"id": event_id, "type": "invoice.paid"}).encode()
    outbox.add(VerifiedEvent("stripe", event_id, "invoice.paid", body, datetime.now(UTC)), {})
    claimed = outbox.claim(LEASE_SECONDS)
    assert claimed is not None
    outbox.mark_failed(claimed, "core answered INVALID_ARGUMENT: no such customer")


def test_status_counts_events_and_lists_the_failed(
    outbox: Outbox, outbox_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fail(outbox, "evt_dead")
    body = json.dumps({"id": "evt_waiting", "type": "invoice.paid"}).encode()
    received = datetime.now(UTC) - timedelta(seconds=30)
    outbox.add(VerifiedEvent("stripe", "evt_waiting", "invoice.paid", body, received), {})

    assert main(["outbox", "--path", str(outbox_path), "status"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["pending", "1"]
    waited = re.search(r"oldest waiting ([\d.]+) s", lines[0])
    assert waited and float(waited.group(1)) == pytest.approx(30, abs=5)
    assert lines[1].split() == ["delivered", "0"]
    assert lines[2].split() == ["failed", "1"]
    assert lines[3].startswith("circuit") and "closed" in lines[3]
    table = [line.split() for line in lines[5:8]]
    assert table[0] == ["status", "source", "count", "oldest", "newest"]
    assert table[1][:3] == ["failed", "stripe", "1"]
    assert table[2][:3] == ["pending", "stripe", "1"]
    assert float(table[2][3]) == pytest.approx(30, abs=5)
    [dead] = [line for line in lines if "evt_dead" in line]
    assert "INVALID_ARGUMENT" in dead


def test_dead_letters_lists_each_with_its_error(
    outbox: Outbox, outbox_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fail(outbox, "evt_a")
    _fail(outbox, "evt_b")

    assert main(["outbox", "--path", str(outbox_path), "dead-letters"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["evt_b", "evt_a"]
    assert all("stripe" in line and "INVALID_ARGUMENT" in line for line in lines)


def test_status_shows_an_open_circuit(
    outbox: Outbox, outbox_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outbox.trip_circuit(lambda failures: 8.0)

    assert main(["outbox", "--path", str(outbox_path), "status"]) == 0

    [circuit] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("circ")]
    assert "open for" in circuit and "1 failure" in circuit


def test_retry_makes_failed_events_pending_again(
    outbox: Outbox, outbox_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fail(outbox, "evt_a")
    _fail(outbox, "evt_b")

    assert main(["outbox", "--path", str(outbox_path), "retry", "evt_a"]) == 0
    assert outbox.summary().counts == {Status.PENDING: 1, Status.DELIVERED: 0, Status.FAILED: 1}
    assert main(["outbox", "--path", str(outbox_path), "retry"]) == 0
    assert outbox.summary().counts[Status.PENDING] == 2
    assert main(["outbox", "--path", str(outbox_path), "retry", "evt_a"]) == 1, "not failed now"
    assert capsys.readouterr().out.splitlines()[0] == "1 failed event(s) pending again"


def test_path_comes_from_the_server_variable(outbox: Outbox, outbox_path: Path) -> None:
    _fail(outbox, "evt_env")
    env = {"WEBHOOKS_OUTBOX_PATH": str(outbox_path), "PATH": "/usr/bin:/bin"}

    result = subprocess.run(
        [sys.executable, "-m", "webhooks", "outbox", "status"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "evt_env" in result.stdout


def test_missing_outbox_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["outbox", "--path", str(tmp_path / "none.sqlite3"), "status"]) == 2

    assert "no outbox at" in capsys.readouterr().err
    assert not (tmp_path / "none.sqlite3").exists(), "looking never creates one"


def test_unset_path_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("WEBHOOKS_OUTBOX_PATH", raising=False)

    assert main(["outbox", "status"]) == 2

    assert "WEBHOOKS_OUTBOX_PATH is not set" in capsys.readouterr().err
