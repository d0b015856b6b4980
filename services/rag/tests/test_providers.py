"""The extractive provider: cited sentences, streamed in chunks."""

import asyncio
import time
from collections.abc import Iterator, Sequence

import aiohttp
import pytest
from rag.answers import retrieve_passages
from rag.config import Settings
from rag.providers import (
    ExtractiveProvider,
    OpenAICompatibleProvider,
    Passage,
    SimulatedProvider,
    build_provider,
    extractive,
)
from rag.providers.extractive import NOTHING_FOUND, best_sentences, split_sentences
from rag.retrieval.index import Article, ArticleIndex
from rag.retrieval.text import Word, analyze

pytestmark = pytest.mark.anyio

REFUNDS = Article(
    1,
    "refunds",
    "Refunds",
    "We are a small team. Refunds take five days to reach your card.\n"
    "Contact support for anything else! A refund is never charged.",
)
EXPORT = Article(2, "export", "Export your data", "Exports are CSV files.")


def test_split_sentences_on_punctuation_and_lines() -> None:
    assert split_sentences("One. Two!  Three?\nFour") == ["One.", "Two!", "Three?", "Four"]


def test_best_sentences_keep_the_articles_order() -> None:
    terms = frozenset(analyze("refund card"))
    assert best_sentences(REFUNDS.body, terms, 2) == [
        "Refunds take five days to reach your card.",
        "A refund is never charged.",
    ]


def test_best_sentences_leave_out_those_sharing_too_few_terms() -> None:
    terms = frozenset(analyze("refund card"))
    assert best_sentences(REFUNDS.body, terms, 2, min_shared=2) == [
        "Refunds take five days to reach your card.",
    ]
    assert best_sentences(REFUNDS.body, frozenset({"zebra"}), 2) == []


def test_a_passage_sharing_one_question_word_is_not_cited() -> None:
    # Scored close to the best, but its only link to the question is the word "card".
    declined = Article(3, "declined", "Declined cards", "Your bank may decline a card abroad.")
    passages = [Passage(1, REFUNDS, 2.0), Passage(2, declined, 1.9)]
    answer = "".join(ExtractiveProvider().compose("refund to my card", passages))
    assert "[1]" in answer
    assert "[2]" not in answer


def test_a_passage_sharing_two_words_of_a_longer_question_is_not_cited() -> None:
    # "endpoint" and "event" are what any webhook article says; the retries article answers.
    retries = Article(
        3,
        "retries",
        "Retries",
        "If your endpoint is down, each event is sent again for three days.",
    )
    overview = Article(4, "overview", "Webhooks", "Your endpoint receives an event per change.")
    passages = [Passage(1, retries, 2.0), Passage(2, overview, 1.9)]
    question = "My endpoint was down, will the events be sent again?"
    answer = "".join(ExtractiveProvider().compose(question, passages))
    assert "[1]" in answer
    assert "[2]" not in answer


def test_a_passage_sharing_three_words_of_the_question_is_cited() -> None:
    statuses = Article(
        3, "statuses", "Delivery log", "A down endpoint gets each event sent again later."
    )
    passages = [Passage(1, statuses, 2.0), Passage(2, statuses, 1.9)]
    question = "My endpoint was down, will the events be sent again?"
    answer = "".join(ExtractiveProvider().compose(question, passages))
    assert "[2]" in answer


def test_a_one_word_question_needs_one_shared_word() -> None:
    answer = "".join(ExtractiveProvider().compose("exports", [Passage(1, EXPORT, 1.0)]))
    assert answer == "Exports are CSV files. [1]"


def test_the_best_passage_is_cited_even_when_it_shares_one_word() -> None:
    answer = "".join(ExtractiveProvider().compose("refund policy", [Passage(1, REFUNDS, 1.0)]))
    assert answer == "Refunds take five days to reach your card. [1] A refund is never charged. [1]"


def test_the_best_passage_is_cited_by_its_opening_sentence_when_none_matches() -> None:
    # It matched the question by its title only: the answer still says where to read.
    answer = "".join(ExtractiveProvider().compose("zebra stripes", [Passage(1, REFUNDS, 1.0)]))
    assert answer == "We are a small team. [1]"


def test_an_article_body_is_analysed_once_across_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    analysed: list[str] = []
    original = extractive.words

    def counting_words(text: str) -> Iterator[Word]:
        analysed.append(text)
        return original(text)

    monkeypatch.setattr(extractive, "words", counting_words)
    article = Article(7, "once", "Analysed once", "Refunds reach your card. Invoices are PDFs.")
    provider = ExtractiveProvider()
    first = provider.compose("refund card", [Passage(1, article)])
    calls_for_first_answer = len(analysed)
    second = provider.compose("invoice card", [Passage(1, article)])
    assert calls_for_first_answer > 0
    assert len(analysed) == calls_for_first_answer
    assert (first, second) == (
        ["Refunds reach your card. [1]"],
        ["Refunds reach your card. [1]", " Invoices are PDFs. [1]"],
    )


REFUND_POLICY = Article(
    11,
    "requesting-a-refund",
    "Requesting a refund",
    "Annual subscriptions can be refunded in full within 30 days of purchase. "
    "Monthly subscriptions are not refunded for partial months.",
)
PLAN_CHANGES = Article(
    12,
    "changing-plans-mid-cycle",
    "Changing plans mid-cycle",
    "Team is built for groups that write together every day. "
    "Moving to a smaller plan gives a credit on the next invoice, never a refund.",
)


async def test_only_passages_scored_near_the_best_are_cited() -> None:
    index = ArticleIndex([REFUND_POLICY, PLAN_CHANGES, EXPORT])
    passages = await retrieve_passages(index, "How do I get a refund?", 4)
    assert [passage.article.slug for passage in passages] == [
        "requesting-a-refund",
        "changing-plans-mid-cycle",
    ]

    answer = "".join(ExtractiveProvider().compose("How do I get a refund?", passages))

    assert "[1]" in answer
    assert "[2]" not in answer
    assert "Team is built" not in answer


def test_passages_scored_alike_are_all_cited() -> None:
    passages = [Passage(1, REFUNDS, 2.0), Passage(2, REFUND_POLICY, 1.9)]
    question = "refund to my card for a partial month"
    answer = "".join(ExtractiveProvider().compose(question, passages))
    assert "[1]" in answer
    assert "[2]" in answer


async def test_each_sentence_is_followed_by_its_citation() -> None:
    chunks = [
        chunk
        async for chunk in ExtractiveProvider(sentences_per_passage=1).stream_answer(
            "refund to my card, or export csv files", [Passage(1, REFUNDS), Passage(2, EXPORT)]
        )
    ]
    assert chunks == [
        "Refunds take five days to reach your card. [1]",
        " Exports are CSV files. [2]",
    ]


async def _answer(question: str, passages: Sequence[Passage]) -> str:
    return "".join([c async for c in ExtractiveProvider().stream_answer(question, passages)])


async def test_no_passages_means_nothing_found() -> None:
    assert await _answer("anything", []) == NOTHING_FOUND


async def test_answers_draw_on_the_retrieved_articles() -> None:
    index = ArticleIndex([REFUNDS, EXPORT])
    passages = await retrieve_passages(index, "export data", 4)
    assert [(p.number, p.article.id) for p in passages] == [(1, 2)]
    assert await _answer("export data", passages) == "Exports are CSV files. [1]"


async def test_the_simulated_provider_streams_the_extractive_answer_word_by_word() -> None:
    passages = [Passage(1, REFUNDS), Passage(2, EXPORT)]
    provider = SimulatedProvider(first_token_seconds=0.2, tokens_per_second=200)
    started = time.monotonic()
    chunks: list[str] = []
    arrivals: list[float] = []
    async for chunk in provider.stream_answer("refund to my card", passages):
        chunks.append(chunk)
        arrivals.append(time.monotonic() - started)
    expected = await _answer("refund to my card", passages)
    assert "".join(chunks) == expected
    # Whole words only; a late wake-up on a busy machine may bring two due words in one chunk.
    assert all(len(chunk.split()) >= 1 and not chunk[-1].isspace() for chunk in chunks)
    assert arrivals[0] >= 0.2
    assert arrivals[-1] >= 0.2 + (len(expected.split()) - 1) / 200


async def test_the_words_that_fell_due_while_the_loop_was_busy_come_out_in_one_chunk() -> None:
    passages = [Passage(1, REFUNDS), Passage(2, EXPORT)]
    provider = SimulatedProvider(first_token_seconds=0.01, tokens_per_second=1000)
    expected = await _answer("refund to my card", passages)
    words = len(expected.split())

    async def busy_loop() -> None:
        time.sleep(0.01 + words / 1000 + 0.05)  # blocks the event loop past every due time

    stream = aiter(provider.stream_answer("refund to my card", passages))
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)  # the stream is now asleep until its first word is due
    await busy_loop()
    chunks = [await first] + [chunk async for chunk in stream]
    assert chunks == [expected]


async def test_a_consumer_that_holds_each_chunk_still_gets_one_word_at_a_time() -> None:
    passages = [Passage(1, REFUNDS), Passage(2, EXPORT)]
    provider = SimulatedProvider(first_token_seconds=0.0, tokens_per_second=50)
    stream = aiter(provider.stream_answer("refund to my card", passages))
    chunks: list[str] = []
    while len(chunks) < 6:
        chunks.append(await anext(stream))
        await asyncio.sleep(0.1)  # five words' worth: a token-delay fault, a slow client
    assert [len(chunk.split()) for chunk in chunks] == [1] * 6


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("extractive", ExtractiveProvider),
        ("simulated", SimulatedProvider),
        ("openai", OpenAICompatibleProvider),
    ],
)
async def test_the_settings_choose_the_provider(name: str, kind: type) -> None:
    async with aiohttp.ClientSession() as session:
        provider = build_provider(Settings(provider=name), session)  # type: ignore[arg-type]
    assert isinstance(provider, kind)
    assert provider.name == name
