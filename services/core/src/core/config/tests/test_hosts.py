"""An unknown Host header is a 400 in the envelope, even with DEBUG on and tracing outermost;
a known one is validated once per request, its path resolved once, and a request is freed as
soon as its response is closed."""

import gc
import json
import weakref
from collections.abc import Iterator
from typing import Any, cast

import pytest
from django.http import HttpRequest, request
from django.test import RequestFactory, override_settings
from django.urls import resolvers
from opentelemetry.instrumentation.django import DjangoInstrumentor
from opentelemetry.trace import SpanKind
from strangler_testing import captured_spans

from core.config import hosts
from core.config.hosts import CoreHandler, CoreRequest
from core.config.paths import AsciiPathGuard

pytestmark = pytest.mark.django_db


@pytest.fixture
def traced_app() -> Iterator[AsciiPathGuard]:
    """Core's WSGI app as gunicorn runs it: the tracing middleware outside every other one."""
    instrumentor = DjangoInstrumentor()
    instrumentor.instrument()
    try:
        yield AsciiPathGuard(CoreHandler())
    finally:
        instrumentor.uninstrument()


def _call(app: Any, **environ: str) -> tuple[str, dict[str, str], bytes]:
    base = cast(Any, RequestFactory())._base_environ(PATH_INFO="/api/search", QUERY_STRING="q=x")
    base.update(environ)
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        captured.update(status=status, headers=dict(headers))

    result = app(base, start_response)
    try:
        body = b"".join(result)
    finally:
        # As a WSGI server does once the body is sent.
        getattr(result, "close", lambda: None)()
    return captured["status"], captured["headers"], body


@pytest.mark.parametrize(
    "environ",
    [
        {"HTTP_HOST": "evil.example"},
        {"HTTP_HOST": ""},
        {"HTTP_HOST": "a b"},
        {"HTTP_HOST": "x" * 300},
    ],
    ids=["unknown", "empty", "invalid", "long"],
)
@override_settings(DEBUG=True)
def test_an_unknown_host_is_400_json_even_in_debug(
    traced_app: AsciiPathGuard, environ: dict[str, str]
) -> None:
    status, headers, body = _call(traced_app, **environ)

    assert status.startswith("400 ")
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "bad_request"
    assert headers["X-Service"] == "core"
    assert b"Traceback" not in body and b"ALLOWED_HOSTS" not in body


@override_settings(DEBUG=True)
def test_http_1_0_without_host_falls_back_to_the_server_name(traced_app: Any) -> None:
    environ = {"SERVER_NAME": "evil.example", "SERVER_PROTOCOL": "HTTP/1.0"}
    status, _, body = _call(traced_app, **environ)

    assert status.startswith("400 ")
    assert json.loads(body)["error"]["code"] == "bad_request"


def test_a_known_host_reaches_django(traced_app: AsciiPathGuard) -> None:
    status, _, body = _call(traced_app, HTTP_HOST="testserver", PATH_INFO="/healthz")

    assert status.startswith("200 ")
    assert json.loads(body) == {"status": "ok"}


@pytest.mark.parametrize("path", ["/api/articles/|V\xf1\x9b\xb5\x9e\x12/related", "/api/\xc3\xa9"])
def test_a_path_that_is_not_ascii_is_404_json(traced_app: AsciiPathGuard, path: str) -> None:
    # PATH_INFO as a WSGI server passes it: the raw bytes, decoded as Latin-1.
    status, _, body = _call(traced_app, HTTP_HOST="testserver", PATH_INFO=path)

    assert status.startswith("404 ")
    assert json.loads(body)["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("path", "django_builds"), [("/api/search", []), ("/api/search;v=1", ["build_absolute_uri ?"])]
)
def test_a_traced_request_validates_its_host_and_builds_its_url_once(
    traced_app: AsciiPathGuard, monkeypatch: pytest.MonkeyPatch, path: str, django_builds: list[str]
) -> None:
    calls: list[str] = []

    def validate_host(host: str, allowed_hosts: list[str]) -> bool:
        calls.append("validate_host")
        return original_validate(host, allowed_hosts)

    def build_absolute_uri(self: HttpRequest, location: str | None = None) -> str:
        calls.append(f"build_absolute_uri {location}")
        return original_build(self, location)

    original_validate, original_build = request.validate_host, HttpRequest.build_absolute_uri
    monkeypatch.setattr(request, "validate_host", validate_host)
    monkeypatch.setattr(HttpRequest, "build_absolute_uri", build_absolute_uri)

    # Not excluded from tracing: the tracing middleware matches the URL in each of its hooks. A
    # path of plain characters needs nothing of Django's to become a URL.
    _call(traced_app, HTTP_HOST="testserver", PATH_INFO=path)

    assert sorted(calls) == [*django_builds, "validate_host"]


@pytest.mark.parametrize(
    "path",
    [
        "/", "/healthz", "/api/articles/12/related", "/~a/b-c_d.json", "/a/./b", "/a/../b",
        "//x", "/a;b", "/a b", "/a%20b", "/a?b", "/a#b", "/a\u00e9", "/a/<b>",
    ],
)  # fmt: skip
@pytest.mark.parametrize("host", ["testserver", "testserver:8000"])
def test_the_tracing_url_is_the_one_django_builds(path: str, host: str) -> None:
    environ = cast(Any, RequestFactory())._base_environ(PATH_INFO=path, HTTP_HOST=host)

    assert CoreRequest(environ).build_absolute_uri("?") == (
        request.HttpRequest.build_absolute_uri(CoreRequest(environ), "?")
    )


@pytest.mark.parametrize("path", ["/healthz", "/api/search"])
def test_a_request_is_freed_when_its_response_is_closed(
    traced_app: AsciiPathGuard, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    requests: list[weakref.ref[CoreRequest]] = []
    original_init = CoreRequest.__init__

    def init(self: CoreRequest, environ: dict[str, Any]) -> None:
        original_init(self, environ)
        requests.append(weakref.ref(self))

    monkeypatch.setattr(CoreRequest, "__init__", init)
    gc.collect()
    gc.disable()  # only reference counting may free it
    try:
        status, _, _ = _call(traced_app, HTTP_HOST="testserver", PATH_INFO=path)
        alive = [ref() is not None for ref in requests]
    finally:
        gc.enable()

    assert status.startswith("200 ")
    assert alive == [False]


def test_a_request_whose_path_changes_builds_its_url_again() -> None:
    environ = cast(Any, RequestFactory())._base_environ(PATH_INFO="/a", HTTP_HOST="testserver")
    core_request = CoreRequest(environ)
    first = core_request.build_absolute_uri("?")
    core_request.path = "/b"

    assert (first, core_request.build_absolute_uri("?")) == (
        "http://testserver/a",
        "http://testserver/b",
    )


def _counting_resolves(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each path the root URL resolver is asked for (nested resolvers get the rest)."""
    asked: list[str] = []
    original = resolvers.URLResolver.resolve

    def resolve(self: resolvers.URLResolver, path: str) -> resolvers.ResolverMatch:
        if path.startswith("/"):
            asked.append(path)
        return original(self, path)

    monkeypatch.setattr(resolvers.URLResolver, "resolve", resolve)
    return asked


@pytest.mark.parametrize(
    ("path", "status", "span_name", "resolves"),
    [
        ("/api/search", "200", "GET api/search", 1),
        ("/healthz", "200", "GET healthz", 1),
        # No match to reuse: the tracing middleware asks once itself, and the common middleware's
        # slash check once more, as before; the view's resolving raises the early 404.
        ("/api/no-such-thing", "404", "GET", 3),
    ],
)
def test_a_traced_request_resolves_its_path_once(
    monkeypatch: pytest.MonkeyPatch, path: str, status: str, span_name: str, resolves: int
) -> None:
    with captured_spans() as spans:
        instrumentor = DjangoInstrumentor()
        instrumentor.instrument(tracer_provider=spans.provider)
        try:
            app = AsciiPathGuard(CoreHandler())
            asked = _counting_resolves(monkeypatch)
            answer, _, body = _call(app, HTTP_HOST="testserver", PATH_INFO=path)
        finally:
            instrumentor.uninstrument()
        [server] = [s for s in spans.exporter.get_finished_spans() if s.kind == SpanKind.SERVER]

    assert answer.startswith(status), body
    assert server.name == span_name
    assert asked.count(path) == resolves, asked
    if status == "404":
        assert json.loads(body)["error"]["code"] == "not_found"


def test_a_path_changed_after_the_early_match_is_resolved_again() -> None:
    environ = cast(Any, RequestFactory())._base_environ(PATH_INFO="/api/search")
    handler = CoreHandler()
    core_request = CoreRequest(environ)
    hosts._resolve_early(core_request)
    # As a middleware rewriting the path would.
    core_request.path_info = "/healthz"

    assert handler.resolve_request(core_request).url_name == "healthz"
