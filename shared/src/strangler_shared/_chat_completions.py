"""The OpenAI-compatible chat-completions streaming protocol, without a transport.

``POST {base_url}/chat/completions`` with ``"stream": true`` answers Server-Sent Events whose
``data:`` is a JSON chunk (``choices[0].delta.content``) and, last, ``data: [DONE]``; OpenAI,
vLLM, Ollama and llama.cpp's server all speak it. core's legacy chat calls it from a blocking
view and rag from an event loop, so this module only turns lines into text: each service keeps
its own HTTP client, timeouts and errors. Both ask with the same messages, so that shadow
comparisons of legacy and new chat compare answers to the same prompt.
"""

import json
from collections.abc import Sequence
from typing import Any

DONE = "[DONE]"
CHAT_SYSTEM_PROMPT = (
    "You answer questions about a software product using only the numbered help articles "
    "given. Answer in a few sentences. After each sentence, cite the article it comes from as "
    "[n]. If the articles do not answer the question, say so."
)
_DETAIL_CHARS = 200


class ChatCompletionError(ValueError):
    """The provider's stream reported an error or broke the protocol."""


def chat_messages(question: str, articles: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """Return the chat messages: instructions, then the articles numbered from 1, the question."""
    numbered = "\n\n".join(
        f"[{number}] {title}\n{body}" for number, (title, body) in enumerate(articles, 1)
    )
    user = f"Articles:\n\n{numbered}\n\nQuestion: {question}"
    return [{"role": "system", "content": CHAT_SYSTEM_PROMPT}, {"role": "user", "content": user}]


class SSEDecoder:
    """Decode a Server-Sent Events stream fed one line at a time into each event's data.

    Only what chat-completion streams use: ``data:`` fields (joined with newlines when an event
    has several), comments (lines starting with ``:``) and other fields ignored, a blank line
    ends an event.
    """

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed(self, line: str) -> str | None:
        """Take one line, without its line break; return the data of the event it ends, if any."""
        if not line:
            return self.flush()
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        if field == "data":
            self._data.append(value.removeprefix(" "))
        return None

    def flush(self) -> str | None:
        """Return the data of the event under way (at the end of the stream), if any."""
        if not self._data:
            return None
        data = "\n".join(self._data)
        self._data = []
        return data


def chunk_text(data: str) -> str:
    """Return the text a streamed chunk adds, raising ChatCompletionError for an error chunk."""
    try:
        chunk: Any = json.loads(data)
    except json.JSONDecodeError as error:
        raise ChatCompletionError("the provider streamed a chunk that is not JSON") from error
    if not isinstance(chunk, dict):
        raise ChatCompletionError("the provider streamed a chunk that is not a JSON object")
    if "error" in chunk:
        raise ChatCompletionError(f"the provider reported an error: {_describe(chunk['error'])}")
    choices = chunk.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    delta = first.get("delta") if isinstance(first, dict) else None
    content = delta.get("content") if isinstance(delta, dict) else None
    return content if isinstance(content, str) else ""


def error_detail(body_text: str) -> str:
    """Return the short message of a non-2xx answer's body (OpenAI's ``error`` object or text)."""
    try:
        return _describe(json.loads(body_text).get("error", body_text))
    except (json.JSONDecodeError, AttributeError):
        return body_text[:_DETAIL_CHARS]


def _describe(error: Any) -> str:
    message = error.get("message") if isinstance(error, dict) else error
    return str(message)[:_DETAIL_CHARS]


class ChatCompletionStream:
    """Turn a streamed chat completion, fed one line at a time, into the text it adds.

    ``done`` turns true at ``[DONE]``: the caller stops reading there. When the body ends first,
    ``end`` raises, so a cut stream is never taken for a complete answer.
    """

    def __init__(self) -> None:
        self._events = SSEDecoder()
        self.done = False

    def feed(self, line: str) -> str:
        """Take one line; return the text of the event it ends ("" for none or [DONE])."""
        return self._text(self._events.feed(line))

    def end(self) -> None:
        """Take the end of the body, raising ChatCompletionError if [DONE] never came."""
        self._text(self._events.flush())
        if not self.done:
            raise ChatCompletionError(f"the provider's stream ended before {DONE}")

    def _text(self, data: str | None) -> str:
        if data is None or self.done:
            return ""
        if data.strip() == DONE:
            self.done = True
            return ""
        return chunk_text(data)
