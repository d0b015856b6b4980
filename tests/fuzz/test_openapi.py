"""Schemathesis against the OpenAPI of core and rag, each on its own port in the running stack.

Every check Schemathesis has runs on every response: zero 5xx, zero responses outside their
documented schema, zero undocumented status codes. What it finds is fixed in the code or
documented in the schema, never excluded here. The budget is small and seeded (derandomized),
so a run is repeatable and takes about a minute per service on a busy 2-core machine. The real
rag stands behind core, so the routes core delegates answer for real, not with a 502.
"""

import json
from typing import Any

import pytest
import schemathesis
from core.config.api import api
from devstack import Stack
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from rag.api.main import api_router

pytestmark = pytest.mark.stack

BUDGET = settings(
    max_examples=15, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)
)


def _rag_document() -> dict[str, Any]:
    # The same routes rag serves, so the same document as its /openapi.json.
    app = FastAPI(title="rag", version="0.1.0")
    app.include_router(api_router)
    return app.openapi()


# Both documents as their services serve them (JSON object keys are strings).
core_schema = schemathesis.openapi.from_dict(json.loads(json.dumps(api.get_openapi_schema())))
rag_schema = schemathesis.openapi.from_dict(json.loads(json.dumps(_rag_document())))


@core_schema.parametrize()
@BUDGET
def test_core_answers_as_its_openapi_says(case: schemathesis.Case, stack: Stack) -> None:
    case.call_and_validate(base_url=f"http://127.0.0.1:{stack.config.ports.core_http}")


@rag_schema.parametrize()
@BUDGET
def test_rag_answers_as_its_openapi_says(case: schemathesis.Case, stack: Stack) -> None:
    case.call_and_validate(base_url=f"http://127.0.0.1:{stack.config.ports.rag_http}")
