"""Answers from any OpenAI-compatible chat-completions server, streamed over HTTP with httpx.

Works with OpenAI itself and with the servers that speak its protocol (vLLM, Ollama, llama.cpp's
server): ``POST {base_url}/chat/completions`` with ``"stream": true`` answers Server-Sent Events
whose ``data:`` is a JSON chunk (``choices[0].delta.content``) and, last, ``data: [DONE]``.

The provider is handed the process's shared ``httpx.AsyncClient`` (its pool sized in settings).
The request lives inside the generator: when the consumer stops (client gone, timeout), the
generator is closed or cancelled, ``client.stream`` exits and the connection is dropped, so
the model server stops generating too.
"""

from collections.abc import AsyncIterator, Sequence

import httpx
from strangler_shared import ChatCompletionError, ChatCompletionStream, chat_messages, error_detail

from rag.providers.base import Passage, ProviderError, ProviderTimeoutError
from rag.providers.extractive import NOTHING_FOUND


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
            "messages": chat_messages(question, _articles(passages)),
        }
        try:
            async with self._client.stream(
                "POST", self._url, json=payload, headers=self._headers
            ) as response:
                await _raise_for_status(response)
                async for text in _texts(response):
                    yield text
        except ChatCompletionError as error:
            raise ProviderError(str(error)) from error
        except httpx.TimeoutException as error:
            raise ProviderTimeoutError("the provider did not answer in time") from error
        except httpx.HTTPError as error:
            raise ProviderError(f"the provider could not be reached: {error}") from error


def _articles(passages: Sequence[Passage]) -> list[tuple[str, str]]:
    # The prompt numbers articles by position: retrieval numbers passages the same way.
    return [(passage.article.title, passage.article.body) for passage in passages]


async def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    body = (await response.aread()).decode(errors="replace")
    raise ProviderError(f"the provider answered {response.status_code}: {error_detail(body)}")


async def _texts(response: httpx.Response) -> AsyncIterator[str]:
    stream = ChatCompletionStream()
    async for line in response.aiter_lines():
        # Read on past [DONE] to the body's end (nothing more is taken from it): a response
        # left unread closes its connection, where a finished one returns it to the pool.
        text = stream.feed(line)
        if text:
            yield text
    stream.end()
