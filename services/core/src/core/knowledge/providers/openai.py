"""Answers from any OpenAI-compatible chat-completions server, called the way a sync view would.

``POST {base_url}/chat/completions`` with ``"stream": true`` answers Server-Sent Events whose
``data:`` is a JSON chunk (``choices[0].delta.content``) and, last, ``data: [DONE]``; OpenAI,
vLLM, Ollama and llama.cpp's server all speak it. The call is a blocking ``httpx.Client`` stream
inside the generator: the worker thread waits on every read, and closing the generator closes the
response, which drops the connection so the model server stops generating. The read timeout is
the longest silence allowed between two pieces (the first one included).

A client is created per answer, like core's other outbound calls: the httpx instrumentation,
installed after the worker forks, then always applies, and a model call of seconds dwarfs the
cost of a connection.
"""

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import httpx

from core.knowledge.models import Article
from core.knowledge.providers.base import (
    Chunks,
    ComposingProvider,
    ProviderError,
    ProviderTimeoutError,
)
from core.knowledge.services import NO_ANSWER

DONE = "[DONE]"
CONNECT_TIMEOUT_SECONDS = 2.0
_ERROR_DETAIL_CHARS = 200
SYSTEM_PROMPT = (
    "You answer questions about a software product using only the numbered help articles "
    "given. Answer in a few sentences. After each sentence, cite the article it comes from as "
    "[n]. If the articles do not answer the question, say so."
)


def build_messages(question: str, articles: Sequence[Article]) -> list[dict[str, str]]:
    """Return the chat messages: instructions, then the numbered articles and the question."""
    numbered = "\n\n".join(
        f"[{number}] {article.title}\n{article.body}" for number, article in enumerate(articles, 1)
    )
    user = f"Articles:\n\n{numbered}\n\nQuestion: {question}"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def sse_data(lines: Iterable[str]) -> Iterator[str]:
    """Yield the data of each event of an SSE stream, given its lines."""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value.removeprefix(" "))
    if data:
        yield "\n".join(data)


def chunk_text(data: str) -> str:
    """Return the text a streamed chunk adds, raising ProviderError for an error chunk."""
    try:
        chunk: Any = json.loads(data)
    except json.JSONDecodeError as exc:
        raise ProviderError("the provider streamed a chunk that is not JSON") from exc
    if not isinstance(chunk, dict):
        raise ProviderError("the provider streamed a chunk that is not a JSON object")
    if "error" in chunk:
        raise ProviderError(f"the provider reported an error: {_describe(chunk['error'])}")
    choices = chunk.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    delta = first.get("delta") if isinstance(first, dict) else None
    content = delta.get("content") if isinstance(delta, dict) else None
    return content if isinstance(content, str) else ""


def _describe(error: Any) -> str:
    message = error.get("message") if isinstance(error, dict) else error
    return str(message)[:_ERROR_DETAIL_CHARS]


class OpenAICompatibleProvider(ComposingProvider):
    """Stream a model's answer from an OpenAI-compatible ``/chat/completions`` endpoint."""

    name = "openai"

    def __init__(
        self, *, base_url: str, model: str, api_key: str = "", timeout_seconds: float
    ) -> None:
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._model = model
        self._headers = {"Accept": "text/event-stream"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        connect = min(CONNECT_TIMEOUT_SECONDS, timeout_seconds)
        self._timeout = httpx.Timeout(timeout_seconds, connect=connect)

    def compose(self, question: str, articles: Sequence[Article]) -> Chunks:
        """Yield the model's text as it streams; without articles, say there is nothing."""
        if not articles:
            # Nothing retrieved: no model can answer from the knowledge base, so do not ask one.
            yield NO_ANSWER
            return
        payload = {
            "model": self._model,
            "stream": True,
            "temperature": 0,
            "messages": build_messages(question, articles),
        }
        try:
            with (
                httpx.Client(timeout=self._timeout) as client,
                client.stream("POST", self._url, json=payload, headers=self._headers) as response,
            ):
                _raise_for_status(response)
                yield from _texts(response)
        except httpx.TimeoutException as exc:
            raise ProviderTimeoutError("the provider did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise ProviderError(f"the provider could not be reached: {exc}") from exc


def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    body = response.read().decode(errors="replace")
    try:
        detail = _describe(json.loads(body).get("error", body))
    except (json.JSONDecodeError, AttributeError):
        detail = body[:_ERROR_DETAIL_CHARS]
    raise ProviderError(f"the provider answered {response.status_code}: {detail}")


def _texts(response: httpx.Response) -> Chunks:
    for data in sse_data(response.iter_lines()):
        if data.strip() == DONE:
            return
        text = chunk_text(data)
        if text:
            yield text
    raise ProviderError("the provider's stream ended before [DONE]")
