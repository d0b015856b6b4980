"""``POST /api/chat``: an answer composed from the knowledge base, with its sources."""

from fastapi import APIRouter

from rag.answers import compose_answer, retrieve_passages
from rag.deps import IndexDep, ProviderDep, SettingsDep
from rag.schemas import ChatRequest, ChatResponse, ErrorResponse, Source

router = APIRouter(tags=["chat"])


@router.post(
    "/api/chat",
    response_model=ChatResponse,
    responses={
        400: {"model": ErrorResponse, "description": "The body is not a JSON object."},
        422: {"model": ErrorResponse, "description": "Invalid, missing or unknown fields."},
    },
)
async def create_answer(
    body: ChatRequest, index: IndexDep, provider: ProviderDep, settings: SettingsDep
) -> ChatResponse:
    """Answer a question with cited sentences from the most relevant articles."""
    k = body.k if "k" in body.model_fields_set else settings.chat_default_k
    passages = retrieve_passages(index, body.question, k)
    answer = await compose_answer(provider, body.question, passages)
    sources = [Source.from_article(passage.article) for passage in passages]
    return ChatResponse(answer=answer, sources=sources)
