"""The service token has no default and refuses weak values."""

import pytest
from strangler_shared import InvalidSecretError, load_service_token


def test_token_from_environment() -> None:
    assert load_service_token({"STRANGLER_SERVICE_TOKEN": "a" * 32}) == "a" * 32


def test_token_from_file(tmp_path) -> None:
    path = tmp_path / "token"
    path.write_text("b" * 40 + "\n")
    assert load_service_token({"STRANGLER_SERVICE_TOKEN_FILE": str(path)}) == "b" * 40


@pytest.mark.parametrize("value", ["", "short", "changeme"])
def test_missing_or_weak_token_is_refused(value: str) -> None:
    with pytest.raises(InvalidSecretError, match="STRANGLER_SERVICE_TOKEN"):
        load_service_token({"STRANGLER_SERVICE_TOKEN": value})
