"""core's OpenAPI document is valid OpenAPI 3: no duplicated keys, every schema well formed."""

import json
from typing import Any

import pytest
from django.test import Client
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    duplicated = sorted({key for key in keys if keys.count(key) > 1})
    assert not duplicated, f"duplicated keys {duplicated} in {keys}"
    return dict(pairs)


@pytest.fixture
def document(client: Client) -> dict[str, Any]:
    """The OpenAPI document as a client downloads it, parsed strictly."""
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    parsed: dict[str, Any] = json.loads(response.content, object_pairs_hook=_no_duplicates)
    return parsed


def test_the_document_is_valid_openapi_3(document: dict[str, Any]) -> None:
    validate(document)


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        ("/api/chat", "post", {"200", "400", "413", "415", "422", "500", "502", "504"}),
        ("/api/articles/{reference}/related", "get", {"200", "404", "422", "502", "503"}),
    ],
)
def test_each_answer_is_documented_once_with_its_description(
    document: dict[str, Any], path: str, method: str, statuses: set[str]
) -> None:
    responses = document["paths"][path][method]["responses"]

    assert set(responses) == statuses
    assert all(response["description"] for response in responses.values())
