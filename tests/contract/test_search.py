"""GET /api/search: the same contract in the monolith and in the new service."""

import httpx
import pytest

pytestmark = pytest.mark.stack

RESULT_KEYS = {"id", "slug", "title", "snippet", "score"}


def _search(api: httpx.Client, **params: str | int) -> httpx.Response:
    response = api.get("/api/search", params=params)
    assert response.headers["x-service"] == api.headers["x-expected-service"]
    return response


def test_results_have_the_contract_shape(api: httpx.Client) -> None:
    response = _search(api, q="invoice", k=3)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"query", "k", "results"}
    assert body["query"] == "invoice" and body["k"] == 3
    assert 1 <= len(body["results"]) <= 3
    for result in body["results"]:
        assert set(result) == RESULT_KEYS
        assert isinstance(result["id"], int) and result["score"] > 0
        assert len(result["snippet"]) <= 240
        assert "invoice" in (result["title"] + result["snippet"]).lower()
    scores = [result["score"] for result in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_k_defaults_to_five(api: httpx.Client) -> None:
    body = _search(api, q="plan billing account").json()
    assert body["k"] == 5
    assert len(body["results"]) == 5


def test_query_is_stripped(api: httpx.Client) -> None:
    assert _search(api, q="  refund  ").json()["query"] == "refund"


def test_nothing_matches(api: httpx.Client) -> None:
    response = _search(api, q="xylophonequartz")
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "a" * 501}, "q"),
        ({"q": "invoice", "k": 0}, "k"),
        ({"q": "invoice", "k": 51}, "k"),
        ({"q": "invoice", "k": "many"}, "k"),
        ({"q": "invoice", "k": "2.5"}, "k"),
        ({"q": "invoice", "k": -1}, "k"),
    ],
)
def test_bad_input_is_a_field_level_422(api: httpx.Client, params: dict, field: str) -> None:
    response = _search(api, **params)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"]
    assert field in error["fields"]
