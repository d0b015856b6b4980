"""Typed dependencies for the routes; tests replace them through ``app.dependency_overrides``.

The long-lived objects (settings, index, core client, sync, provider) are created by
``create_app`` and its lifespan and kept on ``app.state``; these functions hand them to the
handlers. Each is ``async def``: FastAPI runs a plain ``def`` dependency in the thread pool,
a round trip per dependency per request that costs more than the attribute read it wraps.
"""

import hmac
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from opentelemetry import trace
from starlette.datastructures import State
from strangler_shared.identity import IDENTITY_HEADER, Identity, IdentityError, verify_identity

from rag.config import Settings
from rag.core_client import CoreClient
from rag.errors import ApiError
from rag.faults import Faults
from rag.providers import AnswerProvider
from rag.retrieval.index import ArticleIndex
from rag.retrieval.sync import NOT_READY_MESSAGE, KnowledgeBaseSync
from rag.schemas import ErrorResponse

_bearer = HTTPBearer(auto_error=False, description="The shared service token.")


async def get_app_settings(request: Request) -> Settings:
    """Return the settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


NOT_READY_RETRY_AFTER_SECONDS = 1
NOT_READY_RESPONSE: dict[str, Any] = {
    "model": ErrorResponse,
    "description": "The knowledge base has not been synced from core yet (see Retry-After).",
}
"""The 503 of every route that answers from the knowledge base, for the OpenAPI document."""


def knowledge_base_ready(state: State) -> bool:
    """Return whether the index may answer questions: its first sync from core has finished.

    Until then it is empty or partly filled, and an answer from it would be wrong, not slow. An
    app whose lifespan has not started a sync (a test that fills the index itself) is ready.
    """
    sync: KnowledgeBaseSync | None = getattr(state, "sync", None)
    return sync is None or sync.ready


def require_knowledge_base(state: State) -> None:
    """Refuse (503 ``not_ready``, ``Retry-After``) a question asked before the first sync."""
    if not knowledge_base_ready(state):
        raise ApiError(
            503,
            "not_ready",
            NOT_READY_MESSAGE,
            headers={"Retry-After": str(NOT_READY_RETRY_AFTER_SECONDS)},
        )


async def get_index(request: Request) -> ArticleIndex:
    """Return the process's article index (503 until its first sync has finished)."""
    require_knowledge_base(request.app.state)
    index: ArticleIndex = request.app.state.index
    return index


async def get_core_client(request: Request) -> CoreClient:
    """Return the client for core's CoreService (opened by the lifespan)."""
    core: CoreClient | None = getattr(request.app.state, "core_client", None)
    if core is None:
        raise ApiError(503, "not_ready", "The connection to core is not open yet.")
    return core


async def get_sync(request: Request) -> KnowledgeBaseSync | None:
    """Return the knowledge-base sync, or None before the lifespan started it."""
    sync: KnowledgeBaseSync | None = getattr(request.app.state, "sync", None)
    return sync


async def get_provider(request: Request) -> AnswerProvider:
    """Return the answer provider (built by the lifespan)."""
    provider: AnswerProvider | None = getattr(request.app.state, "provider", None)
    if provider is None:
        raise ApiError(503, "not_ready", "The answer provider is not ready yet.")
    return provider


async def get_tracer(request: Request) -> trace.Tracer:
    """Return the tracer for the spans rag makes itself (answer streams)."""
    tracer: trace.Tracer = request.app.state.tracer
    return tracer


async def get_faults(request: Request) -> Faults:
    """Return the process's fault flags."""
    faults: Faults = request.app.state.faults
    return faults


async def inject_faults(request: Request) -> None:
    """Apply the fault flags to a public API request (see ``rag.faults``)."""
    faults: Faults = request.app.state.faults
    await faults.inject()


@dataclass(frozen=True, slots=True)
class Answering:
    """Everything an answer needs, handed over as one dependency.

    FastAPI resolves every dependency of a route on every request (its cache key, its scopes,
    the call): with five of them plus the fault check, that was a sixth of a chat request's CPU
    under load, more than the answer's retrieval.
    """

    settings: Settings
    index: ArticleIndex
    provider: AnswerProvider
    tracer: trace.Tracer
    faults: Faults


async def get_answering(request: Request) -> Answering:
    """Apply the fault flags, then return what an answer needs.

    503 until the provider is ready and the knowledge base synced.
    """
    await inject_faults(request)
    state = request.app.state
    require_knowledge_base(state)
    return Answering(
        settings=state.settings,
        index=state.index,
        provider=await get_provider(request),
        tracer=state.tracer,
        faults=state.faults,
    )


async def require_service_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Refuse a call that does not carry ``Authorization: Bearer <service token>``."""
    expected: str = request.app.state.service_token
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(
            401,
            "unauthenticated",
            "A valid service token is required.",
            headers={"WWW-Authenticate": "Bearer"},
        )


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


async def get_identity(request: Request) -> Identity | None:
    """Return the user the gateway vouched for (``X-Identity``), None for an anonymous request.

    Only a token signed with the identity key counts: a forged, altered or expired one is 401,
    never read as anonymous, so a mistake upstream is loud rather than a silent downgrade.
    """
    token = request.headers.get(IDENTITY_HEADER, "")
    if not token:
        return None
    try:
        return verify_identity(token, secret=request.app.state.identity_secret)
    except IdentityError as error:
        raise ApiError(
            401, "invalid_identity", f"The identity could not be trusted: {error.reason}."
        ) from error


async def require_user(
    identity: Annotated[Identity | None, Depends(get_identity)],
) -> Identity:
    """Return the signed-in user; refuse (401) a request without one."""
    if identity is None:
        raise ApiError(
            401,
            "unauthenticated",
            "This route needs a signed-in user: sign in through the gateway.",
        )
    return identity


IndexDep = Annotated[ArticleIndex, Depends(get_index)]
CoreClientDep = Annotated[CoreClient, Depends(get_core_client)]
SyncDep = Annotated[KnowledgeBaseSync | None, Depends(get_sync)]
ProviderDep = Annotated[AnswerProvider, Depends(get_provider)]
TracerDep = Annotated[trace.Tracer, Depends(get_tracer)]
FaultsDep = Annotated[Faults, Depends(get_faults)]
AnsweringDep = Annotated[Answering, Depends(get_answering)]
OptionalUserDep = Annotated[Identity | None, Depends(get_identity)]
CurrentUserDep = Annotated[Identity, Depends(require_user)]
