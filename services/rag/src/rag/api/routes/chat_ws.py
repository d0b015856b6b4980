"""``WS /api/chat/ws``: the chat stream over a WebSocket, several questions per connection.

The client sends ``{"question": ..., "k": ...}`` (the body of ``POST /api/chat``) as a text
message; the server answers with one message per event, ``{"event": <name>, "data": <data>}``,
in the SSE stream's order (``sources``, ``token``..., ``done`` or ``error``). A message that is
not a valid question gets one ``error`` event (``invalid_json`` or ``validation_error`` with
``fields``) and the connection stays open. When the client goes away mid-answer, the answer's
task is cancelled, and with it the provider's request.
"""

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect

from rag.answers import retrieve_passages, traced_answer
from rag.config import Settings
from rag.errors import validation_fields
from rag.faults import Faults
from rag.providers import AnswerProvider
from rag.retrieval.index import ArticleIndex
from rag.schemas import ChatRequest
from rag.streaming.events import ChatEvent, error_event

router = APIRouter(tags=["chat"])


def _message(event: ChatEvent) -> dict[str, Any]:
    return {"event": event.name, "data": event.data}


def parse_question(text: str) -> ChatRequest | ChatEvent:
    """Return the question a message asks, or the error event that answers a bad one."""
    try:
        payload = json.loads(text)
    except json.JSONDecodeError:
        payload = None
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


async def _answer_until_disconnect(websocket: WebSocket, request: ChatRequest) -> list[str]:
    """Stream one answer while watching the socket; return messages that arrived meanwhile."""
    answering = asyncio.create_task(_answer(websocket, request))
    queued: list[str] = []
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
            queued.append(message.get("text") or "")
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
    pending: list[str] = []
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            text = pending.pop(0) if pending else await websocket.receive_text()
            parsed = parse_question(text)
            if isinstance(parsed, ChatEvent):
                await websocket.send_json(_message(parsed))
                continue
            pending.extend(await _answer_until_disconnect(websocket, parsed))
