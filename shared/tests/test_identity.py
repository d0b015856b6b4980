"""The identity token: signed by core, checked by every service behind the gateway."""

import pytest
from strangler_shared import InvalidSecretError
from strangler_shared.identity import (
    Identity,
    IdentityError,
    load_identity_secret,
    sign_identity,
    verify_identity,
)

SECRET = b"s" * 32
NOW = 1_800_000_000.0


def test_a_signed_token_verifies_to_its_user() -> None:
    token = sign_identity("42", staff=True, secret=SECRET, ttl_seconds=60, now=NOW)
    assert verify_identity(token, secret=SECRET, now=NOW + 59) == Identity(
        user_id="42", staff=True, expires_at=int(NOW) + 60
    )


def test_user_ids_with_any_characters_survive() -> None:
    token = sign_identity("a.b/c é", staff=False, secret=SECRET, now=NOW)
    assert verify_identity(token, secret=SECRET, now=NOW).user_id == "a.b/c é"


def test_an_expired_token_is_refused() -> None:
    token = sign_identity("42", staff=False, secret=SECRET, ttl_seconds=60, now=NOW)
    with pytest.raises(IdentityError, match="expired") as caught:
        verify_identity(token, secret=SECRET, now=NOW + 60)
    assert caught.value.reason == "expired"


def test_another_secret_is_a_bad_signature() -> None:
    token = sign_identity("42", staff=False, secret=SECRET, now=NOW)
    with pytest.raises(IdentityError) as caught:
        verify_identity(token, secret=b"t" * 32, now=NOW)
    assert caught.value.reason == "bad_signature"


@pytest.mark.parametrize("part, value", [(1, "NDM"), (2, "1"), (3, "1900000000")])
def test_changing_any_signed_field_breaks_the_signature(part: int, value: str) -> None:
    parts = sign_identity("42", staff=False, secret=SECRET, now=NOW).split(".")
    parts[part] = value
    with pytest.raises(IdentityError) as caught:
        verify_identity(".".join(parts), secret=SECRET, now=NOW)
    assert caught.value.reason == "bad_signature"


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "v1.a.b.c.d", "v2.NDI.0.1900000000.sig", "v1.NDI.2.1900000000.c2ln",
     "v1.NDI.0.soon.c2ln", "v1.!!.0.1900000000.c2ln", "v1." + "A" * 600 + ".0.1.c2ln"],
)  # fmt: skip
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(IdentityError) as caught:
        verify_identity(token, secret=SECRET, now=NOW)
    assert caught.value.reason == "malformed"


def test_signing_refuses_an_empty_user_or_a_weak_secret() -> None:
    with pytest.raises(ValueError, match="user id"):
        sign_identity("", staff=False, secret=SECRET)
    with pytest.raises(ValueError, match="secret"):
        sign_identity("42", staff=False, secret=b"short")


def test_the_secret_comes_from_the_environment_or_its_file(tmp_path) -> None:
    assert load_identity_secret({"STRANGLER_IDENTITY_SECRET": "k" * 32}) == b"k" * 32
    path = tmp_path / "identity"
    path.write_text("f" * 40 + "\n")
    assert load_identity_secret({"STRANGLER_IDENTITY_SECRET_FILE": str(path)}) == b"f" * 40


@pytest.mark.parametrize("value", ["", "short", "changeme"])
def test_a_missing_or_placeholder_secret_is_refused(value: str) -> None:
    with pytest.raises(InvalidSecretError, match="STRANGLER_IDENTITY_SECRET"):
        load_identity_secret({"STRANGLER_IDENTITY_SECRET": value})
