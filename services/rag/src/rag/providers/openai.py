"""Answers from any OpenAI-compatible chat-completions server, streamed over HTTP with httpx.

Works with OpenAI itself and with the servers that speak its protocol (vLLM, Ollama, llama.cpp's
server): ``POST {base_url}/chat/completions`` with ``"stream": true`` answers Server-Sent Events
whose ``data:`` is a JSON chunk (``choices[0].delta.content``) and, last, ``data: [DONE]``.

The provider is handed the process's shared ``httpx.AsyncClient`` (its pool sized in settings).
The request lives inside the generator: when the consumer stops (client gone, timeout), the
generator is closed or cancelled, ``client.stream`` exits and the connection is dropped, so
the model server stops generating too.
"""

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from rag.providers.base import Passage, ProviderError, ProviderTimeoutError
from rag.providers.extractive import NOTHING_FOUND
from rag.providers.sse import sse_data

DONE = "[DONE]"
_ERROR_BODY_CHARS = 200
SYSTEM_PROMPT = (
    "You answer questions about a software product using only the numbered help articles "
    "given. Answer in a few sentences. After each sentence, cite the article it comes from as "
    "[n]. If the articles do not answer the question, say so."
)


def build_messages(question: str, passages: Sequence[Passage]) -> list[dict[str, str]]:
    """Return the chat messages: instructions, then the numbered articles and the question."""
    articles = "\n\n".join(
        f"[{passage.number}] {passage.article.title}\n{passage.article.body}"
        for passage in passages
    )
    user = f"Articles:\n\n{articles}\n\nQuestion: {question}"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def chunk_text(data: str) -> str:
    """Return the text a streamed chunk adds, raising ProviderError for an error chunk."""
    try:
        chunk: Any = json.loads(data)
    except json.JSONDecodeError as error:
        raise ProviderError("the provider streamed a chunk that is not JSON") from error
    if not isinstance(chunk, dict):
        raise ProviderError("the provider streamed a chunk that is not a JSON object")
    if "error" in chunk:
        raise ProviderError(f"the provider reported an error: {_describe(chunk['error'])}")
    choices = chunk.get("choices") or [{}]
    delta = choices[0].get("delta") or {}
    content = delta.get("content")
    return content if isinstance(content, str) else ""


def _describe(error: Any) -> str:
    message = error.get("message") if isinstance(error, dict) else error
    return str(message)[:_ERROR_BODY_CHARS]


class OpenAICompatibleProvider:
    """Stream a model's answer from an OpenAI-compatible ``/chat/completions`` endpoint."""

    name = "openai"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
    ) -> None:
        self._client = client
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._model = model
        self._headers = {"Accept": "text/event-stream"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"

    async def stream_answer(self, question: str, passages: Sequence[Passage]) -> AsyncIterator[str]:
        """Yield the model's text as it streams; without passages, say there is nothing."""
        if not passages:
            # Nothing retrieved: no model can answer from the knowledge base, so do not ask one.
            yield NOTHING_FOUND
            return
        payload = {
            "model": self._model,
            "stream": True,
            "temperature": 0,
            "messages": build_messages(question, passages),
        }
        try:
            async with self._client.stream(
                "POST", self._url, json=payload, headers=self._headers
            ) as response:
                await _raise_for_status(response)
                async for text in _texts(response):
                    yield text
        except httpx.TimeoutException as error:
            raise ProviderTimeoutError("the provider did not answer in time") from error
        except httpx.HTTPError as error:
            raise ProviderError(f"the provider could not be reached: {error}") from error


async def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    body = (await response.aread()).decode(errors="replace")
    try:
        detail = _describe(json.loads(body).get("error", body))
    except (json.JSONDecodeError, AttributeError):
        detail = body[:_ERROR_BODY_CHARS]
    raise ProviderError(f"the provider answered {response.status_code}: {detail}")


async def _texts(response: httpx.Response) -> AsyncIterator[str]:
    async for data in sse_data(response.aiter_lines()):
        if data.strip() == DONE:
            return
        text = chunk_text(data)
        if text:
            yield text
    raise ProviderError("the provider's stream ended before [DONE]")
