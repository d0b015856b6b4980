"""``GET /api/search``: the contract shared with core's legacy view."""

import httpx
import pytest

pytestmark = pytest.mark.anyio


async def test_search_returns_ranked_results(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/search", params={"q": "  card declined  ", "k": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "card declined"
    assert body["k"] == 3
    [result] = body["results"]
    assert set(result) == {"id", "slug", "title", "snippet", "score"}
    assert (result["id"], result["slug"]) == (2, "payment-failed")
    assert "declined" in result["snippet"] and len(result["snippet"]) <= 240
    assert result["score"] > 0


async def test_results_are_sorted_and_capped_at_k(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/search", params={"q": "billing page plan password", "k": 2})
    results = response.json()["results"]
    assert len(results) == 2
    assert results[0]["score"] >= results[1]["score"] > 0


async def test_k_defaults_to_5(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/search", params={"q": "page"})
    assert response.json()["k"] == 5


async def test_a_query_matching_nothing_returns_an_empty_list(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/search", params={"q": "kubernetes"})
    assert response.status_code == 200
    assert response.json() == {"query": "kubernetes", "k": 5, "results": []}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "x" * 501}, "q"),
        ({"q": "refund", "k": "0"}, "k"),
        ({"q": "refund", "k": "51"}, "k"),
        ({"q": "refund", "k": "-1"}, "k"),
        ({"q": "refund", "k": "abc"}, "k"),
        ({"q": "refund", "k": "2.5"}, "k"),
        ({"q": "refund", "k": ""}, "k"),
    ],
)
async def test_invalid_parameters_are_422_with_the_field(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    response = await client.get("/api/search", params=params)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert list(error["fields"]) == [field]
    assert field in error["message"]


async def test_a_500_character_query_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/search", params={"q": " " + "p" * 500 + " "})
    assert response.status_code == 200
    assert response.json()["results"] == []
