"""All of rag's HTTP routes, gathered in one router."""

from fastapi import APIRouter

from rag.api.routes import chat, chat_ws, health, internal, me, search

api_router = APIRouter()
api_router.include_router(search.router)
api_router.include_router(chat.router)
api_router.include_router(chat_ws.router)
api_router.include_router(me.router)
api_router.include_router(internal.router)
api_router.include_router(health.router)
