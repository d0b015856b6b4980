"""The production settings refuse to start unsafely; run in a fresh interpreter each time."""

import os
import subprocess
import sys

import pytest

GOOD_KEY = "kq3V9x-Lr7TzP2mW8nB4cY6hJ1fD5gS0aE"
GOOD_IDENTITY = "i" * 16 + "a-random-identity-signing-key-value"
GOOD_STRIPE = "whsec_5Qk2Lp9Vx3Rt7Bn1Mz8Cy4Hd6Jf0Gs"


def _import_production(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "STRANGLER_IDENTITY_SECRET", "STRIPE_WEBHOOK_SECRET"))
    }
    clean.update(env)
    code = "import core.config.settings.production as s; print(s.DEBUG)"
    return subprocess.run(
        [sys.executable, "-c", code], env=clean, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({}, "DJANGO_SECRET_KEY must be set"),
        ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY must be set"),
        ({"DJANGO_SECRET_KEY": "short"}, "at least 32 characters"),
        ({"DJANGO_SECRET_KEY": "django-insecure-" + "x1y2z3" * 7}, "placeholder"),
        ({"DJANGO_SECRET_KEY": "change-me-to-a-long-random-value-please"}, "placeholder"),
        ({"DJANGO_SECRET_KEY": "Replace_With_Your_Own_Secret_Key_0123"}, "placeholder"),
        ({"DJANGO_SECRET_KEY": "x" * 50}, "placeholder"),
        ({"DJANGO_SECRET_KEY": "0123456701234567012345670123456701"}, "placeholder"),
        ({"DJANGO_SECRET_KEY": GOOD_KEY, "DJANGO_DEBUG": "true"}, "DJANGO_DEBUG must be off"),
        ({"DJANGO_SECRET_KEY": GOOD_KEY}, "STRANGLER_IDENTITY_SECRET"),
        (
            {"DJANGO_SECRET_KEY": GOOD_KEY, "STRANGLER_IDENTITY_SECRET": "changeme"},
            "STRANGLER_IDENTITY_SECRET",
        ),
        (
            {"DJANGO_SECRET_KEY": GOOD_KEY, "STRANGLER_IDENTITY_SECRET": GOOD_IDENTITY},
            "STRIPE_WEBHOOK_SECRET must be set",
        ),
        (
            {
                "DJANGO_SECRET_KEY": GOOD_KEY,
                "STRANGLER_IDENTITY_SECRET": GOOD_IDENTITY,
                "STRIPE_WEBHOOK_SECRET": "",
            },
            "STRIPE_WEBHOOK_SECRET must be set",
        ),
        (
            {
                "DJANGO_SECRET_KEY": GOOD_KEY,
                "STRANGLER_IDENTITY_SECRET": GOOD_IDENTITY,
                "STRIPE_WEBHOOK_SECRET": "whsec_",
            },
            "STRIPE_WEBHOOK_SECRET must be set",
        ),
    ],
    ids=[
        "unset",
        "empty",
        "short",
        "insecure",
        "change-me",
        "replace",
        "one-char",
        "few",
        "debug",
        "no-identity-key",
        "placeholder-identity",
        "no-stripe-secret",
        "empty-stripe-secret",
        "bare-stripe-prefix",
    ],
)
def test_production_refuses_unsafe_configuration(env: dict[str, str], says: str) -> None:
    result = _import_production(**env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert says in result.stderr


def test_production_names_the_missing_identity_key() -> None:
    result = _import_production(DJANGO_SECRET_KEY=GOOD_KEY)

    assert "STRANGLER_IDENTITY_SECRET is not set" in result.stderr


def test_production_starts_with_a_real_key_and_debug_off() -> None:
    result = _import_production(
        DJANGO_SECRET_KEY=GOOD_KEY,
        STRANGLER_IDENTITY_SECRET=GOOD_IDENTITY,
        STRIPE_WEBHOOK_SECRET=GOOD_STRIPE,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
