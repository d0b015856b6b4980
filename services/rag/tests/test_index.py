"""The BM25 index: ranking, snippets, and changes by id."""

import threading
from collections.abc import Sequence

from rag.retrieval.bm25 import Bm25Ranker, Bm25Retriever
from rag.retrieval.index import Article, ArticleIndex, Deletion
from rag.retrieval.snippets import SNIPPET_MAX_CHARS, make_snippet
from rag.retrieval.text import analyze

ARTICLES = [
    Article(
        1, "reset-password", "Reset your password", "Choose Forgot password on the login page."
    ),
    Article(
        2,
        "payment-failed",
        "When a payment fails",
        "If your card is declined the invoice stays open. Update the card to pay the invoice.",
    ),
    Article(3, "invoices", "Download invoices", "Every invoice is on the billing page as a PDF."),
    Article(4, "api-keys", "API keys", "Create an API key in the developer settings."),
]


def _index() -> ArticleIndex:
    return ArticleIndex(ARTICLES)


def test_the_article_about_the_query_ranks_first() -> None:
    hits = _index().search("card declined", 5)
    assert [hit.article.id for hit in hits] == [2]


def test_results_match_the_query_and_are_sorted_by_score() -> None:
    hits = _index().search("invoice", 5)
    assert {hit.article.id for hit in hits} == {2, 3}
    assert all(hit.score > 0 for hit in hits)
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


def test_a_search_without_snippets_ranks_the_same_and_cuts_no_passage() -> None:
    index = _index()
    with_snippets = index.search("invoice", 5)
    without = index.search("invoice", 5, snippets=False)
    assert [(h.article.id, h.score) for h in without] == [
        (h.article.id, h.score) for h in with_snippets
    ]
    assert all(hit.snippet for hit in with_snippets)
    assert [hit.snippet for hit in without] == [""] * len(without)


def test_stemming_matches_other_forms_of_a_word() -> None:
    assert [hit.article.id for hit in _index().search("declining cards", 5)] == [2]


def test_a_title_match_outranks_a_body_match() -> None:
    index = ArticleIndex(
        [
            Article(
                1, "a", "Something else", "A word about refunds in passing, among many others."
            ),
            Article(2, "b", "Refunds", "How money goes back to you, among many other things."),
        ]
    )
    assert [hit.article.id for hit in index.search("refunds", 5)] == [2, 1]


def test_a_title_match_outranks_a_body_that_repeats_the_word() -> None:
    # A body can mention a subject three times in passing; a title names what the article is about.
    index = ArticleIndex(
        [
            Article(1, "a", "Plans", "Refund rules: a refund, then another refund, are rare."),
            Article(2, "b", "Refunds", "Money goes back to the card you paid with, in days."),
        ]
    )
    assert [hit.article.id for hit in index.search("refund", 5)] == [2, 1]


def test_a_tag_match_outranks_a_body_match() -> None:
    index = ArticleIndex(
        [
            Article(1, "a", "Members", "Invite people by email, or through sso when it is on."),
            Article(2, "b", "Sign-in", "Send people to your identity provider.", ("sso",)),
        ]
    )
    assert [hit.article.id for hit in index.search("sso", 5)] == [2, 1]


def test_a_title_word_common_in_bodies_still_outranks_a_rare_word_in_passing() -> None:
    # Every body mentions workspaces, so the word says little there; one title and tag say more.
    index = ArticleIndex(
        [
            Article(
                1,
                "a",
                "Creating workspaces",
                "Each workspace has its own members and billing.",
                ("workspaces",),
            ),
            Article(
                2,
                "b",
                "Webhooks",
                "Create a webhook for your workspace; a retry waits a second.",
                ("webhooks",),
            ),
            Article(3, "c", "Billing", "Each workspace pays by card, monthly or yearly."),
            Article(4, "d", "Members", "Invite people to your workspace by email."),
        ]
    )
    assert [hit.article.id for hit in index.search("create a second workspace", 2)] == [1, 2]


def test_articles_without_tags_are_still_ranked() -> None:
    index = ArticleIndex([Article(1, "a", "Refunds", "Money back."), Article(2, "b", "Plans", "")])
    assert [hit.article.id for hit in index.search("refund", 5)] == [1]
    assert [hit.article.id for hit in index.search("plan", 5)] == [2]


def test_k_caps_the_number_of_results() -> None:
    assert len(_index().search("invoice page password key", 2)) == 2


def test_a_query_that_matches_nothing_returns_nothing() -> None:
    assert _index().search("kubernetes", 5) == []
    assert _index().search("the and of", 5) == []
    assert ArticleIndex().search("invoice", 5) == []


def test_update_replaces_the_article_with_the_same_id() -> None:
    index = _index()
    index.upsert(Article(4, "api-keys", "API tokens", "Tokens replace keys."))
    assert len(index) == len(ARTICLES)
    assert index.search("developer", 5) == []
    assert [hit.article.title for hit in index.search("tokens", 5)] == ["API tokens"]


def test_delete_removes_the_article_and_ignores_unknown_ids() -> None:
    index = _index()
    index.delete(2)
    index.delete(999)
    assert index.get(2) is None
    assert len(index) == len(ARTICLES) - 1
    assert index.search("declined", 5) == []


def test_a_batch_applies_changes_in_order() -> None:
    index = ArticleIndex()
    index.apply(
        [
            Article(1, "a", "First", "alpha"),
            Deletion(1),
            Article(1, "a", "Again", "bravo"),
            Article(2, "b", "Other", "charlie"),
            Deletion(2),
        ]
    )
    assert len(index) == 1
    assert [hit.article.title for hit in index.search("bravo", 5)] == ["Again"]


class CountingRetriever(Bm25Retriever):
    """BM25, counting its builds."""

    def __init__(self) -> None:
        self.builds = 0

    def build(self, articles: Sequence[Article]) -> Bm25Ranker:
        self.builds += 1
        return super().build(articles)


def test_reapplying_what_the_index_holds_changes_nothing_and_does_not_rebuild() -> None:
    retriever = CountingRetriever()
    index = ArticleIndex(ARTICLES, retriever=retriever)
    assert retriever.builds == 1
    assert index.apply([ARTICLES[0], ARTICLES[1], Deletion(99)]) == 0
    assert retriever.builds == 1
    edited = Article(1, "reset-password", "Reset your passphrase", "Use a passphrase.")
    assert index.apply([ARTICLES[2], edited]) == 1
    assert retriever.builds == 2
    assert index.get(1) == edited


def test_snippet_is_cut_around_the_first_matched_term() -> None:
    body = "Filler sentence about nothing much at all. " * 20 + "The refund arrives in 5 days."
    body += " More filler text follows here." * 10
    snippet = make_snippet(body, frozenset(analyze("refunds")))
    assert "refund" in snippet
    assert len(snippet) <= SNIPPET_MAX_CHARS
    assert snippet.startswith("…") and snippet.endswith("…")


def test_snippet_of_a_short_body_is_the_whole_body() -> None:
    assert make_snippet("Short  body\nhere.", frozenset({"short"})) == "Short body here."


def test_snippet_starts_at_the_top_when_only_the_title_matched() -> None:
    body = "Opening words of the article. " * 20
    snippet = make_snippet(body, frozenset({"absent"}))
    assert snippet.startswith("Opening words")
    assert len(snippet) <= SNIPPET_MAX_CHARS


def test_search_hits_carry_a_snippet_with_a_matched_term() -> None:
    long_body = "Unrelated words about the weather and gardens. " * 15 + "Your invoice is ready."
    index = ArticleIndex([Article(7, "long", "Long article", long_body)])
    [hit] = index.search("invoices", 5)
    assert "invoice" in hit.snippet and len(hit.snippet) <= SNIPPET_MAX_CHARS


def test_reads_stay_consistent_while_another_thread_writes() -> None:
    index = _index()
    errors: list[BaseException] = []
    stop = threading.Event()

    def write() -> None:
        for n in range(200):
            index.upsert(Article(100 + n % 5, f"s{n}", f"Extra {n}", "invoice extra"))
        stop.set()

    def read() -> None:
        try:
            while not stop.is_set():
                hits = index.search("invoice", 50)
                assert all(hit.score > 0 for hit in hits)
        except BaseException as error:  # the assertion travels back to the test thread
            errors.append(error)

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(index) == len(ARTICLES) + 5
