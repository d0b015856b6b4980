"""The typed environment readers refuse values a setting cannot mean."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.config.env import env_choice, env_float

CHOICES = frozenset({"extractive", "simulated", "openai", "rag"})


def test_a_choice_defaults_when_unset_or_blank(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CORE_TEST_CHOICE", raising=False)
    assert env_choice("CORE_TEST_CHOICE", "extractive", CHOICES) == "extractive"
    monkeypatch.setenv("CORE_TEST_CHOICE", "  ")
    assert env_choice("CORE_TEST_CHOICE", "extractive", CHOICES) == "extractive"


def test_a_choice_is_read_case_insensitively(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORE_TEST_CHOICE", " RAG ")

    assert env_choice("CORE_TEST_CHOICE", "extractive", CHOICES) == "rag"


def test_an_unknown_choice_is_refused_with_the_allowed_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CORE_TEST_CHOICE", "gpt")

    with pytest.raises(ImproperlyConfigured, match="extractive, openai, rag, simulated"):
        env_choice("CORE_TEST_CHOICE", "extractive", CHOICES)


@pytest.mark.parametrize("raw", ["0", "-1", "nan", "inf", "soon"])
def test_a_positive_number_refuses_the_rest(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("CORE_TEST_SECONDS", raw)

    with pytest.raises(ImproperlyConfigured, match="CORE_TEST_SECONDS"):
        env_float("CORE_TEST_SECONDS", 1.0)


def test_zero_is_allowed_where_it_means_no_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORE_TEST_SECONDS", "0")

    assert env_float("CORE_TEST_SECONDS", 1.0, allow_zero=True) == 0.0
    monkeypatch.setenv("CORE_TEST_SECONDS", "-0.5")
    with pytest.raises(ImproperlyConfigured, match="zero or more"):
        env_float("CORE_TEST_SECONDS", 1.0, allow_zero=True)
