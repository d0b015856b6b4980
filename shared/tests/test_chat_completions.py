"""The chat-completions protocol both chat providers speak: prompt, SSE events, chunks, errors."""

import json

import pytest
from strangler_shared import (
    CHAT_SYSTEM_PROMPT,
    ChatCompletionError,
    ChatCompletionStream,
    SSEDecoder,
    chat_messages,
    chunk_text,
    error_detail,
)


def _chunk(content: object) -> str:
    return json.dumps({"choices": [{"index": 0, "delta": {"content": content}}]})


def _decode(decoder: SSEDecoder, *lines: str) -> list[str | None]:
    return [decoder.feed(line) for line in lines]


def test_chat_messages_number_the_articles_and_end_with_the_question() -> None:
    articles = [("Reset your password", "Choose Forgot password."), ("SSO", "Use your IdP.")]
    system, user = chat_messages("How do I reset it?", articles)
    assert system == {"role": "system", "content": CHAT_SYSTEM_PROMPT}
    assert user["role"] == "user"
    assert user["content"] == (
        "Articles:\n\n[1] Reset your password\nChoose Forgot password.\n\n[2] SSO\nUse your IdP."
        "\n\nQuestion: How do I reset it?"
    )


def test_sse_decoder_joins_data_fields_and_skips_comments_and_other_fields() -> None:
    decoder = SSEDecoder()
    lines = (": keep-alive", "", "data: a", "data:b", "event: x", "id: 7", "")
    assert _decode(decoder, *lines) == [None, None, None, None, None, None, "a\nb"]


def test_sse_decoder_keeps_spaces_after_the_first() -> None:
    assert _decode(SSEDecoder(), "data:  two spaces", "") == [None, " two spaces"]


def test_sse_decoder_flushes_an_unterminated_last_event_once() -> None:
    decoder = SSEDecoder()
    assert decoder.feed("data: [DONE]") is None
    assert decoder.flush() == "[DONE]"
    assert decoder.flush() is None


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (_chunk("Hello"), "Hello"),
        (_chunk(None), ""),
        (_chunk(3), ""),
        (json.dumps({"choices": []}), ""),
        (json.dumps({"choices": ["not an object"]}), ""),
        (json.dumps({"choices": [{"delta": "not an object"}]}), ""),
        (json.dumps({"choices": [{"finish_reason": "stop", "delta": {}}]}), ""),
        (json.dumps({"choices": None}), ""),
    ],
)
def test_chunk_text_is_the_delta_content_or_nothing(data: str, text: str) -> None:
    assert chunk_text(data) == text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({"error": {"message": "model overloaded"}}), "reported an error: model over"),
        (json.dumps({"error": "rate limited"}), "reported an error: rate limited"),
    ],
)
def test_chunk_text_raises_for_error_and_malformed_chunks(data: str, message: str) -> None:
    with pytest.raises(ChatCompletionError, match=message):
        chunk_text(data)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (json.dumps({"error": {"message": "bad key", "type": "auth"}}), "bad key"),
        (json.dumps({"error": "quota exceeded"}), "quota exceeded"),
        (json.dumps({"detail": "no error key"}), json.dumps({"detail": "no error key"})),
        ("[1, 2]", "[1, 2]"),
        ("Bad Gateway", "Bad Gateway"),
        ("x" * 500, "x" * 200),
        (json.dumps({"error": {"message": "y" * 500}}), "y" * 200),
    ],
)
def test_error_detail_is_the_short_message_of_a_failed_answer(body: str, detail: str) -> None:
    assert error_detail(body) == detail


def _stream_texts(stream: ChatCompletionStream, *lines: str) -> list[str]:
    return [text for line in lines if (text := stream.feed(line))]


def test_a_stream_yields_each_chunks_text_until_done() -> None:
    stream = ChatCompletionStream()
    lines = (f"data: {_chunk('Hel')}", "", f"data: {_chunk('lo')}", "", "data: [DONE]", "")
    assert _stream_texts(stream, *lines) == ["Hel", "lo"]
    assert stream.done
    stream.end()


def test_a_stream_ignores_what_follows_done() -> None:
    stream = ChatCompletionStream()
    assert _stream_texts(stream, "data: [DONE]", "", f"data: {_chunk('late')}", "") == []
    assert stream.done


def test_a_stream_accepts_done_without_a_final_blank_line() -> None:
    stream = ChatCompletionStream()
    assert _stream_texts(stream, f"data: {_chunk('Hi')}", "", "data: [DONE]") == ["Hi"]
    assert not stream.done
    stream.end()
    assert stream.done


def test_a_stream_cut_before_done_raises() -> None:
    stream = ChatCompletionStream()
    assert _stream_texts(stream, f"data: {_chunk('Hi')}", "") == ["Hi"]
    with pytest.raises(ChatCompletionError, match=r"ended before \[DONE\]"):
        stream.end()


def test_a_stream_raises_an_error_chunk_cut_before_its_blank_line() -> None:
    stream = ChatCompletionStream()
    stream.feed("data: " + json.dumps({"error": {"message": "model overloaded"}}))
    with pytest.raises(ChatCompletionError, match="reported an error: model overloaded"):
        stream.end()
