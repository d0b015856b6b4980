"""What each process of the local stack is given from the caller's environment."""

from pathlib import Path

import pytest
from devstack import StackConfig, find_root
from devstack._processes import core_env, rag_env
from devstack._secrets import DevSecrets

SECRETS = DevSecrets(
    service_token="t" * 43,
    stripe_webhook_secret="whsec_test",
    standard_webhook_secret="whsec_c3RhbmRhcmQtdGVzdA==",
    django_secret_key="k" * 50,
    admin_password="admin-password",
    identity_secret="i" * 43,
)


@pytest.fixture
def config(tmp_path: Path) -> StackConfig:
    return StackConfig.load(find_root(Path(__file__).parent), var=tmp_path)


def test_rag_settings_pass_through_for_a_load_study(
    config: StackConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_PROVIDER", "simulated")
    monkeypatch.setenv("RAG_WORKERS", "2")

    env = rag_env(config, SECRETS)

    assert (env["RAG_PROVIDER"], env["RAG_WORKERS"]) == ("simulated", "2")


def test_the_stacks_own_wiring_wins_over_the_callers(
    config: StackConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_GRPC_BIND", "0.0.0.0:1")
    monkeypatch.setenv("RAG_CORE_GRPC_TARGET", "elsewhere:1")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://elsewhere:4318")

    env = rag_env(config, SECRETS)

    assert env["RAG_GRPC_BIND"] == f"127.0.0.1:{config.ports.rag_grpc}"
    assert env["RAG_CORE_GRPC_TARGET"] == f"127.0.0.1:{config.ports.core_grpc}"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://127.0.0.1:{config.ports.traces}"


def test_rag_settings_stay_out_of_core(
    config: StackConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_PROVIDER", "simulated")
    monkeypatch.setenv("CORE_CHAT_PROVIDER", "simulated")

    env = core_env(config, SECRETS)

    assert "RAG_PROVIDER" not in env
    assert env["CORE_CHAT_PROVIDER"] == "simulated"
