"""Answers from any OpenAI-compatible chat-completions server, called the way a sync view would.

``POST {base_url}/chat/completions`` with ``"stream": true`` answers Server-Sent Events whose
``data:`` is a JSON chunk (``choices[0].delta.content``) and, last, ``data: [DONE]``; OpenAI,
vLLM, Ollama and llama.cpp's server all speak it. The call is a blocking ``httpx.Client`` stream
inside the generator: the worker thread waits on every read, and closing the generator closes the
response, which drops the connection so the model server stops generating. The read timeout is
the longest silence allowed between two pieces (the first one included).

Every answer uses the process's one pooled client for the model server (``core.outbound``),
made after the worker forks so the httpx instrumentation applies: a new client per answer cost a
fresh SSL context and connection each time.
"""

from collections.abc import Sequence

import httpx
from strangler_shared import ChatCompletionError, ChatCompletionStream, chat_messages, error_detail

from core.knowledge.models import Article
from core.knowledge.providers.base import (
    Chunks,
    ComposingProvider,
    ProviderError,
    ProviderTimeoutError,
)
from core.knowledge.services import NO_ANSWER
from core.outbound import pooled_client

CONNECT_TIMEOUT_SECONDS = 2.0


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
        titled = [(article.title, article.body) for article in articles]
        payload = {
            "model": self._model,
            "stream": True,
            "temperature": 0,
            "messages": chat_messages(question, titled),
        }
        try:
            client = pooled_client("model")
            with client.stream(
                "POST", self._url, json=payload, headers=self._headers, timeout=self._timeout
            ) as response:
                _raise_for_status(response)
                yield from _texts(response)
        except ChatCompletionError as exc:
            raise ProviderError(str(exc)) from exc
        except httpx.TimeoutException as exc:
            raise ProviderTimeoutError("the provider did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise ProviderError(f"the provider could not be reached: {exc}") from exc


def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    body = response.read().decode(errors="replace")
    raise ProviderError(f"the provider answered {response.status_code}: {error_detail(body)}")


def _texts(response: httpx.Response) -> Chunks:
    stream = ChatCompletionStream()
    for line in response.iter_lines():
        # Read on past [DONE] to the body's end (nothing more is taken from it): a response
        # left unread closes its connection, where a finished one returns it to the pool.
        text = stream.feed(line)
        if text:
            yield text
    stream.end()
