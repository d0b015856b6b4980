"""Schemathesis against the OpenAPI of core and rag, on their own ports and through the gateway.

Every check Schemathesis has runs on every response: zero 5xx, zero responses outside their
documented schema, zero undocumented status codes. What it finds is fixed in the code or
documented in the schema, never excluded here. The budget is small and seeded (derandomized),
so a run is repeatable and takes about a minute per service on a busy 2-core machine. The real
rag stands behind core, so the routes core delegates answer for real, not with a 502.

Through the gateway the document is the one a client of the gateway sees: each path from the
service the route table sends it to, plus the errors nginx answers itself (401, 413, 414, 421,
429... in the envelope), composed from the same route table the stack's gateway runs. The client
is signed in (the admin, through core's login), so a route that needs a user answers as its
service does; the anonymous 401 has its own tests (tests/gateway).
"""

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from core.config.api import api
from devstack import Stack, find_root
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from rag.api.main import include_routes
from strangler_gateway.routetable.load import load_route_table
from strangler_testing.openapi import gateway_document

pytestmark = pytest.mark.stack

BUDGET = settings(
    max_examples=15, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)
)


def _rag_document() -> dict[str, Any]:
    # The same routes rag serves, so the same document as its /openapi.json.
    app = FastAPI(title="rag", version="0.1.0")
    include_routes(app)
    return app.openapi()


# Both documents as their services serve them (JSON object keys are strings).
core_document = json.loads(json.dumps(api.get_openapi_schema()))
rag_document = json.loads(json.dumps(_rag_document()))
core_schema = schemathesis.openapi.from_dict(core_document)
rag_schema = schemathesis.openapi.from_dict(rag_document)
# The stack's gateway starts from a copy of this table.
ROUTES = load_route_table(find_root(Path(__file__).parent) / "gateway" / "routes.toml")
gateway_schema = schemathesis.openapi.from_dict(
    gateway_document(ROUTES, {"core": core_document, "rag": rag_document})
)


@core_schema.parametrize()
@BUDGET
def test_core_answers_as_its_openapi_says(case: schemathesis.Case, stack: Stack) -> None:
    case.call_and_validate(base_url=f"http://127.0.0.1:{stack.config.ports.core_http}")


@rag_schema.parametrize()
@BUDGET
def test_rag_answers_as_its_openapi_says(case: schemathesis.Case, stack: Stack) -> None:
    case.call_and_validate(base_url=f"http://127.0.0.1:{stack.config.ports.rag_http}")


@pytest.fixture(scope="module")
def session(stack: Stack) -> dict[str, str]:
    """Return the admin's session cookie (a Cookie header), from core's login via the gateway."""
    url = f"http://127.0.0.1:{stack.config.ports.gateway}"
    with httpx.Client(base_url=url, timeout=10) as browser:
        form = browser.get("/admin/login/", params={"next": "/admin/"})
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token, form.text[:500]
        response = browser.post(
            "/admin/login/?next=/admin/",
            data={
                "csrfmiddlewaretoken": token[1],
                "username": "admin",
                "password": stack.secrets.admin_password,
            },
        )
    assert response.status_code == 302, response.text[:500]
    return {"Cookie": f"sessionid={response.cookies['sessionid']}"}


@gateway_schema.parametrize()
@BUDGET
def test_gateway_answers_as_its_routes_say(
    case: schemathesis.Case, stack: Stack, session: dict[str, str]
) -> None:
    # A test before this one may have moved a route: the document would describe another gateway.
    running = {route.name: route.mode for route in load_route_table(stack.config.routes).routes}
    assert running == {route.name: route.mode for route in ROUTES.routes}
    case.call_and_validate(
        base_url=f"http://127.0.0.1:{stack.config.ports.gateway}", headers=session
    )
