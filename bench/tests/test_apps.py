"""Both bare Django apps answer the same JSON; only the one set up as `startproject` sets up a
new project runs Django's default middleware."""

import json
import subprocess
import sys

import pytest

# What the security and clickjacking middleware add to every answer.
_DEFAULT_MIDDLEWARE_HEADERS = {"X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"}

_CALL = """
import json, sys
from importlib import import_module
from strangler_bench.apps._django_hello import get_healthz
status, headers, body = get_healthz(import_module(sys.argv[1]).application)
print(json.dumps({"status": status, "headers": dict(headers), "body": body.decode()}))
"""


def _healthz(module: str) -> dict[str, object]:
    # Each app configures Django's settings at import: one process per app.
    result = subprocess.run(
        [sys.executable, "-c", _CALL, module], capture_output=True, text=True, check=True
    )
    answer: dict[str, object] = json.loads(result.stdout)
    return answer


@pytest.mark.parametrize(
    ("module", "middleware_headers"),
    [
        ("strangler_bench.apps.hello_django", set()),
        ("strangler_bench.apps.hello_django_defaults", _DEFAULT_MIDDLEWARE_HEADERS),
    ],
)
def test_each_django_app_answers_healthz_through_its_own_middleware(
    module: str, middleware_headers: set[str]
) -> None:
    answer = _healthz(module)
    headers = answer["headers"]
    assert isinstance(headers, dict)

    assert (answer["status"], answer["body"]) == ("200 OK", '{"status": "ok"}')
    assert _DEFAULT_MIDDLEWARE_HEADERS & set(headers) == middleware_headers
