"""GET /api/articles/{id or slug}/related: core ranks with rag's Search over real gRPC."""

import time
from collections.abc import Callable

import grpc
import pytest
from django.test import Client
from pytest_django.fixtures import Settings
from strangler_contracts.rag.v1 import rag_pb2

from core.knowledge.models import Article
from core.knowledge.related import related_query
from core.knowledge.tests.rag_standin import StandInRag

pytestmark = pytest.mark.django_db


@pytest.fixture
def article(make_article: Callable[..., Article]) -> Article:
    return make_article(
        slug="card-declined", title="Why was my card declined?", tags=["billing", "card-payments"]
    )


def _result(article_id: int, slug: str, score: float) -> rag_pb2.SearchResult:
    return rag_pb2.SearchResult(
        article_id=article_id, slug=slug, title=slug.title(), snippet=f"About {slug}", score=score
    )


def test_related_articles_are_rags_ranking_without_the_article_itself(
    client: Client, standin_rag: StandInRag, article: Article
) -> None:
    standin_rag.results = [
        _result(article.pk, article.slug, 9.0),
        _result(501, "update-your-card", 4.0),
        _result(502, "invoices", 2.5),
        _result(503, "refunds", 1.0),
    ]

    response = client.get(f"/api/articles/{article.slug}/related", {"k": "2"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["article"] == {"id": article.pk, "slug": article.slug, "title": article.title}
    assert body["k"] == 2
    assert body["results"] == [
        {
            "id": 501,
            "slug": "update-your-card",
            "title": "Update-Your-Card",
            "snippet": "About update-your-card",
            "score": 4.0,
        },
        {
            "id": 502,
            "slug": "invoices",
            "title": "Invoices",
            "snippet": "About invoices",
            "score": 2.5,
        },
    ]
    [request] = standin_rag.searches
    assert request.query == "Why was my card declined? billing card payments"
    assert request.k == 3, "one more than asked for, as the article itself usually ranks first"


def test_an_article_is_found_by_id_too(
    client: Client, standin_rag: StandInRag, article: Article
) -> None:
    standin_rag.results = [_result(article.pk, article.slug, 9.0), _result(7, "other", 1.0)]

    body = client.get(f"/api/articles/{article.pk}/related").json()

    assert body["article"]["id"] == article.pk and body["k"] == 5
    assert [result["id"] for result in body["results"]] == [7]
    assert standin_rag.searches[0].k == 6


def test_the_query_stays_within_rags_limit(make_article: Callable[..., Article]) -> None:
    long = make_article(title="word " * 60, tags=[f"tag-{n}" for n in range(100)])

    query = related_query(long)

    assert 0 < len(query) <= 500 and not query.endswith(" ")


@pytest.mark.parametrize("reference", ["no-such-article", "999999", "9" * 30])
def test_an_unknown_article_is_a_404(
    client: Client, standin_rag: StandInRag, reference: str
) -> None:
    response = client.get(f"/api/articles/{reference}/related")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert standin_rag.searches == []


@pytest.mark.parametrize("k", ["0", "51", "two"])
def test_k_outside_1_to_50_is_a_422(client: Client, article: Article, k: str) -> None:
    response = client.get(f"/api/articles/{article.slug}/related", {"k": k})

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["k"]


def test_an_unreachable_rag_is_a_503_with_a_clear_error(
    client: Client, settings: Settings, service_token: str, article: Article
) -> None:
    response = client.get(f"/api/articles/{article.slug}/related")

    assert response.status_code == 503
    assert response.json() == {
        "error": {"code": "upstream_unavailable", "message": "the rag service is unreachable"}
    }


def test_a_rag_slower_than_the_deadline_is_a_503_on_time(
    client: Client, settings: Settings, standin_rag: StandInRag, article: Article
) -> None:
    settings.CORE_RAG_GRPC_TIMEOUT_SECONDS = 0.2
    standin_rag.delay = 5.0

    started = time.monotonic()
    response = client.get(f"/api/articles/{article.slug}/related")

    assert time.monotonic() - started < standin_rag.delay
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "upstream_timeout" and "0.2 s" in error["message"]


def test_a_call_rag_refuses_is_a_502_without_internals(
    client: Client, standin_rag: StandInRag, article: Article, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRANGLER_SERVICE_TOKEN", "another-token-" + "x" * 40)

    response = client.get(f"/api/articles/{article.slug}/related")

    assert response.status_code == 502
    assert response.json()["error"] == {
        "code": "upstream_error",
        "message": f"the rag service failed ({grpc.StatusCode.UNAUTHENTICATED.name})",
    }
