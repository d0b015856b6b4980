"""``WS /api/chat/ws``: the chat stream over a WebSocket, several questions per connection.

The client sends ``{"question": ..., "k": ...}`` (the body of ``POST /api/chat``) as a text
message; the server answers with one message per event, ``{"event": <name>, "data": <data>}``,
in the SSE stream's order (``sources``, ``token``..., ``done`` or ``error``). A message that is
not a valid question gets one ``error`` event (``invalid_json`` or ``validation_error`` with
``fields``) and the connection stays open. A message the server cannot read at all closes the
connection with a reason: a binary frame with 1003 (unsupported data), JSON nested too deeply
to parse with 1007 (invalid payload). When the client goes away mid-answer, the answer's task
is cancelled, and with it the provider's request.
"""

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket, status
from pydantic import ValidationError
from starlette.types import Message
from starlette.websockets import WebSocketDisconnect

from rag.answers import retrieve_passages, traced_answer
from rag.config import Settings
from rag.deps import knowledge_base_ready
from rag.errors import validation_fields
from rag.faults import Faults
from rag.providers import AnswerProvider
from rag.retrieval.index import ArticleIndex
from rag.retrieval.sync import NOT_READY_MESSAGE
from rag.schemas import ChatRequest
from rag.streaming.events import ChatEvent, error_event

router = APIRouter(tags=["chat"])


def _message(event: ChatEvent) -> dict[str, Any]:
    return {"event": event.name, "data": event.data}


class UnreadableMessageError(Exception):
    """A message the connection cannot go on after: it is closed with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def message_text(message: Message) -> str:
    """Return a received message's text; a binary frame cannot be a question."""
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    if text is None:
        raise UnreadableMessageError(
            status.WS_1003_UNSUPPORTED_DATA, "binary messages are not supported; send JSON text"
        )
    return str(text)


def parse_question(text: str) -> ChatRequest | ChatEvent:
    """Return the question a message asks, or the error event that answers a bad one."""
    try:
        payload = json.loads(text)
    except json.JSONDecodeError:
        payload = None
    except RecursionError as error:
        raise UnreadableMessageError(
            status.WS_1007_INVALID_FRAME_PAYLOAD_DATA, "the JSON is nested too deeply"
        ) from error
    if not isinstance(payload, dict):
        return error_event("invalid_json", "Each message must be a JSON object.")
    try:
        return ChatRequest.model_validate(payload)
    except ValidationError as error:
        fields = validation_fields(error.errors())
        event = error_event("validation_error", "Invalid question.")
        event.data["fields"] = fields
        return event


async def _answer(websocket: WebSocket, request: ChatRequest) -> None:
    app = websocket.app
    if not knowledge_base_ready(app.state):
        await websocket.send_json(_message(error_event("not_ready", NOT_READY_MESSAGE)))
        return
    settings: Settings = app.state.settings
    index: ArticleIndex = app.state.index
    provider: AnswerProvider = app.state.provider
    faults: Faults = app.state.faults
    k = request.k_or(settings.chat_default_k)
    passages = await retrieve_passages(index, request.question, k)
    tracer = app.state.tracer
    events = traced_answer(
        tracer,
        "websocket",
        provider,
        request.question,
        passages,
        settings,
        k,
        pace=faults.pace_token,
    )
    async for item in events:
        if isinstance(item, ChatEvent):
            await websocket.send_json(_message(item))


async def _answer_until_disconnect(websocket: WebSocket, request: ChatRequest) -> list[Message]:
    """Stream one answer while watching the socket; return messages that arrived meanwhile."""
    answering = asyncio.create_task(_answer(websocket, request))
    queued: list[Message] = []
    try:
        while not answering.done():
            receiving = asyncio.create_task(websocket.receive())
            done, _ = await asyncio.wait(
                {answering, receiving}, return_when=asyncio.FIRST_COMPLETED
            )
            if receiving not in done:
                receiving.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await receiving
                break
            message = receiving.result()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            queued.append(message)
        answering.result()
    finally:
        if not answering.done():
            answering.cancel()
            await asyncio.wait({answering})
    return queued


@router.websocket("/api/chat/ws")
async def chat_over_websocket(websocket: WebSocket) -> None:
    """Answer each question sent on the socket with a stream of event messages."""
    await websocket.accept()
    with contextlib.suppress(WebSocketDisconnect):
        try:
            await _answer_each_question(websocket)
        except UnreadableMessageError as error:
            await websocket.close(error.code, error.reason)


async def _answer_each_question(websocket: WebSocket) -> None:
    pending: list[Message] = []
    while True:
        message = pending.pop(0) if pending else await websocket.receive()
        parsed = parse_question(message_text(message))
        if isinstance(parsed, ChatEvent):
            await websocket.send_json(_message(parsed))
            continue
        pending.extend(await _answer_until_disconnect(websocket, parsed))
