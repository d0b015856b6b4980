"""Request parameters shared by several routes."""

from typing import Annotated

from fastapi import Path, Query
from strangler_shared import INT64_MAX, INT64_MIN, AsciiInteger

from rag.config import MAX_K

KParam = Annotated[
    int | None,
    Query(ge=1, le=MAX_K, description=f"How many results, 1..{MAX_K} (default: the service's)."),
    AsciiInteger,
]
# Ids past int64 cannot be put in a gRPC request to core: refuse them here, not with a 500.
CustomerIdParam = Annotated[
    int, Path(ge=INT64_MIN, le=INT64_MAX, description="The customer's id."), AsciiInteger
]
