"""Request parameters shared by several routes."""

from typing import Annotated

from fastapi import Query

from rag.config import MAX_K

KParam = Annotated[
    int | None,
    Query(ge=1, le=MAX_K, description=f"How many results, 1..{MAX_K} (default: the service's)."),
]
