"""rag's OpenAPI document is valid OpenAPI 3 and documents every answer its routes give."""

import json
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.anyio


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    duplicated = sorted({key for key in keys if keys.count(key) > 1})
    assert not duplicated, f"duplicated keys {duplicated} in {keys}"
    return dict(pairs)


async def _document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    parsed: dict[str, Any] = json.loads(response.content, object_pairs_hook=_no_duplicates)
    return parsed


async def test_the_document_is_valid_openapi_3(client: httpx.AsyncClient) -> None:
    validate(await _document(client))


async def test_chat_documents_its_refusals(client: httpx.AsyncClient) -> None:
    responses = (await _document(client))["paths"]["/api/chat"]["post"]["responses"]

    assert {"400", "415", "422"} <= set(responses)


async def test_every_422_is_documented_as_the_envelope(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            documented = operation["responses"].get("422")
            if documented is None:
                continue
            schema = documented["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path)
