"""Tracing set-up: resource from OTEL_* variables, one provider per process, instrumentations."""

import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
from strangler_shared import configure_logging
from strangler_shared._logs import PER_REQUEST_LOGGERS

_PROBE = textwrap.dedent(
    """
    import json, sqlite3
    import httpx
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from strangler_shared import setup_tracing

    exporter = InMemorySpanExporter()
    provider = setup_tracing("probe", exporter=exporter)
    assert setup_tracing("other") is provider
    with trace.get_tracer("probe").start_as_current_span("parent"):
        sqlite3.connect(":memory:").cursor().execute("select 1")
        try:
            httpx.get("http://127.0.0.1:9/unreachable", timeout=0.5)
        except httpx.HTTPError:
            pass
    provider.force_flush()
    spans = exporter.get_finished_spans()
    print(json.dumps({
        "resource": dict(provider.resource.attributes),
        "spans": {s.name: (s.parent.span_id if s.parent else None) for s in spans},
        "parent": [s.context.span_id for s in spans if s.name == "parent"][0],
        "client": sorted(next(s for s in spans if s.name.startswith("GET")).attributes),
    }))
    """
)


def _run_probe(env: dict[str, str]) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(completed.stdout)


def test_environment_names_the_service_and_children_nest(monkeypatch) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "OTEL_SERVICE_NAME": "rag",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=compose,team=search",
    }
    result = _run_probe(env)
    assert result["resource"]["service.name"] == "rag"
    assert result["resource"]["deployment.environment.name"] == "compose"
    assert result["resource"]["deployment.environment"] == "compose"
    assert result["resource"]["team"] == "search"
    assert result["resource"]["service.version"] == "0.1.0"
    child_parents = {name: parent for name, parent in result["spans"].items() if name != "parent"}
    assert any(name.lower().startswith("select") for name in child_parents), result["spans"]
    assert any(name.startswith("GET") for name in child_parents), result["spans"]
    assert set(child_parents.values()) == {result["parent"]}


def test_default_service_name_when_environment_is_silent() -> None:
    result = _run_probe({"PATH": "/usr/bin:/bin"})
    assert result["resource"]["service.name"] == "probe"
    assert result["resource"]["deployment.environment.name"] == "local"
    assert result["resource"]["deployment.environment"] == "local"


def test_the_deprecated_environment_key_is_honoured_and_mirrored() -> None:
    env = {"PATH": "/usr/bin:/bin", "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=staging"}
    result = _run_probe(env)
    assert result["resource"]["deployment.environment.name"] == "staging"
    assert result["resource"]["deployment.environment"] == "staging"


def test_http_spans_follow_the_stable_http_conventions_by_default() -> None:
    client = _run_probe({"PATH": "/usr/bin:/bin"})["client"]
    assert {"http.request.method", "url.full", "server.address"} <= set(client)
    assert not {"http.method", "http.url"} & set(client)


def test_a_conventions_choice_in_the_environment_wins() -> None:
    env = {"PATH": "/usr/bin:/bin", "OTEL_SEMCONV_STABILITY_OPT_IN": "http/dup"}
    client = _run_probe(env)["client"]
    assert {"http.request.method", "http.method", "url.full", "http.url"} <= set(client)


def test_the_version_is_the_installed_package_of_the_service() -> None:
    from importlib import metadata

    from strangler_shared._telemetry import installed_version

    assert installed_version("core") == metadata.version("strangler-core")
    assert installed_version("shadow") == metadata.version("strangler-gateway")
    assert installed_version("probe") == metadata.version("strangler-shared")


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """Give the root logger back as it was: its new handler writes to the test's captured stderr,
    which is closed once the test ends, and every later record would fail to be written."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    libraries = {name: logging.getLogger(name).level for name in PER_REQUEST_LOGGERS}
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, library_level in libraries.items():
        logging.getLogger(name).setLevel(library_level)


def test_log_lines_are_json_with_trace_id(capsys, root_logger: logging.Logger) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    configure_logging("core")
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("work") as span:
        logging.getLogger("core.test").info("applied %s", "evt_1")
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["message"] == "applied evt_1"
    assert line["service"] == "core"
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")


def test_outbound_calls_log_failures_not_every_request(capsys, root_logger: logging.Logger) -> None:
    """httpx logs each request at INFO; the call's client span already holds the same facts."""
    import httpx

    configure_logging("core")
    calls = iter(range(2))

    def upstream(request: httpx.Request) -> httpx.Response:
        if next(calls):
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(upstream)) as client:
        client.get("http://rag.invalid/internal/customers/1/suggestions")
        with pytest.raises(httpx.ConnectError):
            client.get("http://rag.invalid/internal/customers/1/suggestions")
    logging.getLogger("core.customers").warning("rag is unreachable")
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    assert [(line["logger"], line["level"]) for line in lines] == [("core.customers", "warning")]


def test_debug_logging_keeps_every_outbound_request(capsys, root_logger: logging.Logger) -> None:
    import httpx

    configure_logging("core", logging.DEBUG)
    with httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(204))) as c:
        c.get("http://rag.invalid/healthz")
    messages = [json.loads(line)["message"] for line in capsys.readouterr().err.splitlines()]
    assert 'HTTP Request: GET http://rag.invalid/healthz "HTTP/1.1 204 No Content"' in messages


_EXIT_PROBE = textwrap.dedent(
    """
    import os, sys
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
    from strangler_shared import setup_tracing, shutdown_tracing

    class FileExporter(SpanExporter):
        def export(self, spans):
            with open(sys.argv[1], "a") as out:
                out.writelines(span.name + "\\n" for span in spans)
            return SpanExportResult.SUCCESS

    setup_tracing("probe", exporter=FileExporter())
    trace.get_tracer("probe").start_span("last words").end()
    if sys.argv[2:] == ["--shutdown-then-exit-hard"]:
        # As a server's exit hook does; os._exit then skips every atexit hook.
        shutdown_tracing()
        os._exit(0)
    """
)


def _exported_by_exit_probe(tmp_path, *args: str) -> list[str]:
    exported = tmp_path / "spans.txt"
    # A batch delay far longer than the process lives: only a flush at exit can export the span.
    env = {"PATH": "/usr/bin:/bin", "OTEL_BSP_SCHEDULE_DELAY": "600000"}
    subprocess.run(
        [sys.executable, "-c", _EXIT_PROBE, str(exported), *args], env=env, check=True, timeout=60
    )
    return exported.read_text().splitlines()


def test_buffered_spans_are_exported_when_the_process_exits(tmp_path) -> None:
    assert _exported_by_exit_probe(tmp_path) == ["last words"]


def test_shutdown_tracing_exports_buffered_spans_without_exit_hooks(tmp_path) -> None:
    assert _exported_by_exit_probe(tmp_path, "--shutdown-then-exit-hard") == ["last words"]
