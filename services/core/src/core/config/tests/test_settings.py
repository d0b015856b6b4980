"""The production settings refuse to start unsafely; run in a fresh interpreter each time."""

import os
import subprocess
import sys

import pytest

GOOD_KEY = "k" * 16 + "a-random-production-secret-key-value"
GOOD_IDENTITY = "i" * 16 + "a-random-identity-signing-key-value"


def _import_production(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "STRANGLER_IDENTITY_SECRET"))
    }
    clean.update(env)
    code = "import core.config.settings.production as s; print(s.DEBUG)"
    return subprocess.run(
        [sys.executable, "-c", code], env=clean, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"DJANGO_SECRET_KEY": ""},
        {"DJANGO_SECRET_KEY": "short"},
        {"DJANGO_SECRET_KEY": "django-insecure-" + "x" * 40},
        {"DJANGO_SECRET_KEY": GOOD_KEY, "DJANGO_DEBUG": "true"},
        {"DJANGO_SECRET_KEY": GOOD_KEY},
        {"DJANGO_SECRET_KEY": GOOD_KEY, "STRANGLER_IDENTITY_SECRET": "changeme"},
    ],
    ids=["unset", "empty", "short", "insecure", "debug", "no-identity-key", "placeholder-identity"],
)
def test_production_refuses_unsafe_configuration(env: dict[str, str]) -> None:
    result = _import_production(**env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr


def test_production_names_the_missing_identity_key() -> None:
    result = _import_production(DJANGO_SECRET_KEY=GOOD_KEY)

    assert "STRANGLER_IDENTITY_SECRET is not set" in result.stderr


def test_production_starts_with_a_real_key_and_debug_off() -> None:
    result = _import_production(DJANGO_SECRET_KEY=GOOD_KEY, STRANGLER_IDENTITY_SECRET=GOOD_IDENTITY)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
