"""How text becomes search terms, shared by indexing, queries, snippets and answers.

Everything goes through bm25s's own tokenizer (lower-case, stopwords, Snowball stems) so that a
query term, an indexed term and a term found in a snippet are always the same string.
"""

import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import bm25s
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

# bm25s's English list (Lucene's 33 words) plus the question words and pronouns people type
# into a help-centre box ("how do I ...", "can you ..."): kept, they match nearly every article
# and push the relevant ones down. The monolith's search drops the same words
# (core.knowledge.text.STOPWORDS), so both sides rank on the same terms, which is what makes
# their results comparable in shadow mode.
_QUESTION_WORDS_TEXT = """
can do does from how i its me my our so we what when where which who why you your
"""
QUESTION_WORDS = frozenset(_QUESTION_WORDS_TEXT.split())
STOPWORDS: list[str] = sorted(frozenset(STOPWORDS_EN) | QUESTION_WORDS)
_STOP = frozenset(STOPWORDS)
# bm25s's default pattern: words of two or more characters.
_WORD = re.compile(r"(?u)\b\w\w+\b")
# PyStemmer's stemmers keep a cache and must not be shared between threads.
_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    stemmer: Stemmer.Stemmer | None = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


def analyze_many(texts: Sequence[str]) -> list[list[str]]:
    """Turn each text into its list of stemmed, stopword-free terms."""
    if not texts:
        return []
    tokens: list[list[str]] = bm25s.tokenize(
        list(texts),
        stopwords=STOPWORDS,
        stemmer=_stemmer(),
        return_ids=False,
        show_progress=False,
    )
    return tokens


def analyze(text: str) -> list[str]:
    """Turn one text into its list of stemmed, stopword-free terms.

    The same terms as :func:`analyze_many` (bm25s's tokenizer) gives, without its set-up cost:
    a question is analysed on every search and answer, and bm25s.tokenize spent several times
    longer preparing than splitting one short text.
    """
    return _stemmer().stemWords([word for word in _WORD.findall(text.lower()) if word not in _STOP])


@dataclass(frozen=True, slots=True)
class Word:
    """A word of a text: where it is and the term it stands for."""

    start: int
    end: int
    term: str


def words(text: str) -> Iterator[Word]:
    """Yield every word of ``text`` with its position and stemmed term."""
    stemmer = _stemmer()
    for match in _WORD.finditer(text):
        yield Word(match.start(), match.end(), stemmer.stemWord(match.group().lower()))


def first_match(text: str, terms: frozenset[str]) -> Word | None:
    """Return the first word of ``text`` whose term is one of ``terms``."""
    return next((word for word in words(text) if word.term in terms), None)
