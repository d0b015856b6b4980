"""Answers from any OpenAI-compatible chat-completions server, streamed over HTTP with aiohttp.

Works with OpenAI itself and with the servers that speak its protocol (vLLM, Ollama, llama.cpp's
server): ``POST {base_url}/chat/completions`` with ``"stream": true`` answers Server-Sent Events
whose ``data:`` is a JSON chunk (``choices[0].delta.content``) and, last, ``data: [DONE]``.

The provider is handed the process's shared ``aiohttp.ClientSession`` (``rag.outbound``). The
request lives inside the generator: when the consumer stops (client gone, timeout), the
generator is closed or cancelled and the unfinished response is closed with its connection, so
the model server stops generating too.
"""

from collections.abc import AsyncIterator, Sequence

import aiohttp
from strangler_shared import ChatCompletionError, ChatCompletionStream, chat_messages, error_detail

from rag.providers.base import Passage, ProviderError, ProviderTimeoutError
from rag.providers.extractive import NOTHING_FOUND


class OpenAICompatibleProvider:
    """Stream a model's answer from an OpenAI-compatible ``/chat/completions`` endpoint."""

    name = "openai"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
    ) -> None:
        self._session = session
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
            async with self._session.post(
                self._url, json=payload, headers=self._headers
            ) as response:
                try:
                    await _raise_for_status(response)
                    async for text in _texts(response):
                        yield text
                finally:
                    # Stopped early (client gone, timeout, an error): a released response would
                    # go back to the pool still streaming; closing it hangs up on the model.
                    if not response.content.at_eof():
                        response.close()
        except ChatCompletionError as error:
            raise ProviderError(str(error)) from error
        # aiohttp's timeouts are both TimeoutError and ClientError: the first match wins.
        except TimeoutError as error:
            raise ProviderTimeoutError("the provider did not answer in time") from error
        except aiohttp.ClientError as error:
            raise ProviderError(f"the provider could not be reached: {error}") from error
        except ValueError as error:
            # A line longer than the stream reader takes (64 KiB): not a chat-completions stream.
            raise ProviderError(f"the provider sent something unreadable: {error}") from error


def _articles(passages: Sequence[Passage]) -> list[tuple[str, str]]:
    # The prompt numbers articles by position: retrieval numbers passages the same way.
    return [(passage.article.title, passage.article.body) for passage in passages]


async def _raise_for_status(response: aiohttp.ClientResponse) -> None:
    if response.status < 400:
        return
    body = (await response.read()).decode(errors="replace")
    raise ProviderError(f"the provider answered {response.status}: {error_detail(body)}")


async def _texts(response: aiohttp.ClientResponse) -> AsyncIterator[str]:
    stream = ChatCompletionStream()
    async for raw in response.content:
        # Read on past [DONE] to the body's end (nothing more is taken from it): a response
        # left unread closes its connection, where a finished one returns it to the pool.
        text = stream.feed(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
        if text:
            yield text
    stream.end()
