"""The knowledge base's services: legacy search and chat, and the change feed with tombstones."""

import base64
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone

from core.knowledge.models import Article, ArticleTombstone
from core.knowledge.services import (
    NO_ANSWER,
    ChangeKey,
    InvalidCursorError,
    answer_question,
    changes_after,
    decode_cursor,
    encode_cursor,
    search_articles,
)

pytestmark = pytest.mark.django_db

MakeArticle = Callable[..., Article]


def test_search_ranks_by_term_frequency_and_keeps_only_matches(make_article: MakeArticle) -> None:
    strong = make_article(title="Refund policy", body="How a refund works. Refund in 5 days.")
    weak = make_article(title="Billing", body="We may refund you.")
    make_article(title="Unrelated", body="Nothing to see.")

    hits = search_articles("refund", k=5)

    assert [hit.article for hit in hits] == [strong, weak]
    assert hits[0].score > hits[1].score > 0


def test_search_honours_k_and_prefers_articles_matching_more_terms(
    make_article: MakeArticle,
) -> None:
    both = make_article(body="card declined")
    make_article(body="card card card card")
    make_article(body="card")

    hits = search_articles("card declined", k=2)

    assert len(hits) == 2
    assert hits[0].article == both


def test_search_without_usable_terms_or_matches_is_empty(make_article: MakeArticle) -> None:
    make_article(body="Some text.")

    assert search_articles("the", k=5) == []
    assert search_articles("zebra", k=5) == []


def test_search_snippet_comes_from_the_body(make_article: MakeArticle) -> None:
    make_article(title="Exports", body="Intro. " * 40 + "Exporting to CSV is one click.")

    [hit] = search_articles("csv", k=1)

    assert "CSV" in hit.snippet
    assert len(hit.snippet) <= 240


def test_chat_cites_the_best_sentence_of_each_top_article(make_article: MakeArticle) -> None:
    first = make_article(
        title="Two-factor authentication",
        body="Security matters. Turn on two-factor authentication in settings. Done.",
    )
    second = make_article(title="Security", body="Authentication uses your password.")

    answer = answer_question("two-factor authentication", k=4)

    assert answer.sources == [first, second]
    assert answer.text == (
        "Turn on two-factor authentication in settings. [1] Authentication uses your password. [2]"
    )


def test_chat_without_a_match_says_so(make_article: MakeArticle) -> None:
    make_article()

    answer = answer_question("quantum entanglement", k=4)

    assert (answer.text, answer.sources) == (NO_ANSWER, [])


def test_the_feed_streams_everything_in_updated_at_then_id_order(
    make_article: MakeArticle,
) -> None:
    a, b, c = make_article(), make_article(), make_article()
    Article.objects.filter(pk=a.pk).update(updated_at=timezone.now() + timedelta(seconds=5))

    assert [change.article for change in changes_after(None)] == [
        b,
        c,
        Article.objects.get(pk=a.pk),
    ]


def test_the_feed_resumes_after_a_cursor_and_honours_limit(make_article: MakeArticle) -> None:
    articles = [make_article() for _ in range(5)]

    first = list(changes_after(None, limit=2))
    cursor = encode_cursor(first[-1].key)
    rest = list(changes_after(decode_cursor(cursor)))

    assert [change.article for change in first + rest] == articles


def test_the_feed_reads_in_batches_without_losing_or_repeating(make_article: MakeArticle) -> None:
    articles = [make_article() for _ in range(7)]

    streamed = [change.article for change in changes_after(None, batch_size=3)]

    assert streamed == articles


def test_a_deleted_article_becomes_a_tombstone_in_the_feed(make_article: MakeArticle) -> None:
    kept, gone = make_article(), make_article(slug="gone")
    gone_id = gone.pk
    gone.delete()

    changes = list(changes_after(None))

    assert [(c.key.article_id, c.slug, c.deleted) for c in changes] == [
        (kept.pk, kept.slug, False),
        (gone_id, "gone", True),
    ]
    assert ArticleTombstone.objects.filter(article_id=gone_id).exists()


def test_bulk_deletes_leave_tombstones_too(make_article: MakeArticle) -> None:
    make_article(slug="x-1")
    make_article(slug="x-2")

    Article.objects.filter(slug__startswith="x-").delete()

    assert sorted(ArticleTombstone.objects.values_list("slug", flat=True)) == ["x-1", "x-2"]


def test_a_cursor_round_trips_and_garbage_is_refused() -> None:
    key = ChangeKey(timezone.now(), 42)

    assert decode_cursor(encode_cursor(key)) == key
    assert decode_cursor("") is None
    other_version = base64.urlsafe_b64encode(b"v9|2024-01-01T00:00:00+00:00|1").decode()
    naive = base64.urlsafe_b64encode(b"v1|2024-01-01T00:00:00|1").decode()
    for garbage in ("not-a-cursor", "djE", other_version, naive):
        with pytest.raises(InvalidCursorError):
            decode_cursor(garbage)


def test_an_id_restored_after_deletion_loses_its_tombstone(make_article: MakeArticle) -> None:
    article = make_article(slug="restored")
    article_id = article.pk
    article.delete()

    make_article(pk=article_id, slug="restored")

    assert not ArticleTombstone.objects.filter(article_id=article_id).exists()
    assert [change.deleted for change in changes_after(None)] == [False]
