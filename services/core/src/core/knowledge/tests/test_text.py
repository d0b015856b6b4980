"""The legacy search's text helpers: terms, snippets, sentences."""

from core.knowledge.text import SNIPPET_WIDTH, count_matches, query_terms, sentences, snippet


def test_query_terms_are_lowercased_distinct_and_without_stopwords() -> None:
    assert query_terms("How do I reset my Password? password RESET, 2FA!") == [
        "reset",
        "password",
        "2fa",
    ]


def test_short_common_words_are_not_terms_so_they_match_no_longer_words() -> None:
    # "not" as a substring would match "notion", "notes" and "notifications".
    assert query_terms("sync is not working, no notes there") == ["sync", "working", "notes"]


def test_a_query_of_only_stopwords_has_no_terms() -> None:
    assert query_terms("what is the") == []


def test_a_short_body_is_its_own_snippet() -> None:
    assert snippet("  Short\n body  text. ", ["body"]) == "Short body text."


def test_the_snippet_surrounds_the_first_matched_term_within_the_width() -> None:
    body = ("filler words " * 60) + "the refund policy explains everything " + ("tail " * 80)

    passage = snippet(body, ["refund"])

    assert len(passage) <= SNIPPET_WIDTH
    assert "refund policy" in passage
    assert passage.startswith("…") and passage.endswith("…")


def test_without_a_body_match_the_snippet_starts_at_the_beginning() -> None:
    body = "Opening sentence. " + "more text " * 50

    passage = snippet(body, ["absent"])

    assert passage.startswith("Opening sentence.")
    assert len(passage) <= SNIPPET_WIDTH


def test_sentences_split_lines_and_sentences_and_drop_markup() -> None:
    body = "# Heading\n\n- First point. Second point!\n> Quoted line?"

    assert list(sentences(body)) == ["Heading", "First point.", "Second point!", "Quoted line?"]


def test_count_matches_counts_distinct_terms_and_occurrences() -> None:
    assert count_matches(
        "Card declined; the card was declined twice", ["card", "declined", "x"]
    ) == (
        2,
        4,
    )
