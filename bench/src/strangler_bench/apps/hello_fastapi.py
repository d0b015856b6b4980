"""Bare FastAPI hello-world: one JSON route (``uvicorn strangler_bench.apps.hello_fastapi:app``)."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    """Answer the cheapest JSON there is."""
    return {"status": "ok"}
