"""The tracing workload's accounting: CPU time per request answered over the whole run."""

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from strangler_bench.apps import otlp_sink
from strangler_bench.load import LoadResult
from strangler_bench.model import Section
from strangler_bench.workloads import tracing
from strangler_testing.servers import serve_in_thread
from strangler_testing.shadow import JsonUpstream

# A trace store that burns CPU time when told to (a line on its stdin), as the real one works
# through the spans a run exported; untold, it does nothing.
_STORE = (
    "import sys, time\n"
    "print('ready', flush=True)\n"
    "for line in sys.stdin:\n"
    "    end = time.process_time() + float(line)\n"
    "    while time.process_time() < end: pass\n"
    "    print('done', flush=True)\n"
)


@contextlib.contextmanager
def _store() -> Iterator[subprocess.Popen[str]]:
    store = subprocess.Popen(
        [sys.executable, "-c", _STORE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        # Ready once its start-up's CPU time is spent.
        assert store.stdout is not None and store.stdout.readline() == "ready\n"
        yield store
    finally:
        store.kill()
        store.communicate()


def _tell(store: subprocess.Popen[str], seconds: float) -> None:
    assert store.stdin is not None
    store.stdin.write(f"{seconds}\n")
    store.stdin.flush()


def _answered(count: int) -> LoadResult:
    return LoadResult(completed=count, errors=0, seconds=1.0, p50_ms=1.0, p99_ms=1.0, tool="test")


def test_cpu_per_request_counts_the_answers_outside_the_steady_window() -> None:
    # A fixed-rounds load whose window held 10 of its 40 answers: the server's CPU time paid for
    # all 40.
    def measure(url: str) -> LoadResult:
        end = time.process_time() + 0.4
        while time.process_time() < end:
            pass
        return LoadResult(
            completed=10, errors=0, seconds=1.0, p50_ms=1.0, p99_ms=1.0, tool="test",
            outside_window=30,
        )  # fmt: skip

    with _store() as store:
        twin = tracing._Twin("http://127.0.0.1:1", os.getpid())
        result, server_us, store_us = tracing._measured(measure, twin, store.pid)
    # 0.4 s over 40 answers is 10 ms each; over the window's 10 it would read 40 ms.
    assert result.answered == 40 and 8_000 <= server_us <= 20_000, server_us
    assert store_us < 1_000


def test_the_store_s_work_on_a_run_s_spans_after_the_run_is_counted_in_that_run() -> None:
    with _store() as store:
        twin = tracing._Twin("http://127.0.0.1:1", store.pid)

        def measure(url: str) -> LoadResult:
            _tell(store, 0.4)  # the run's spans reach the store as the run ends
            return _answered(40)

        _, _, store_us = tracing._measured(measure, twin, store.pid, export_delay=0.1)
    # 0.4 s over 40 answers is 10 ms each (read as the run ended, it would be about nothing).
    assert 8_000 <= store_us <= 20_000, store_us


def test_a_store_still_busy_with_the_run_before_is_not_counted_in_the_next() -> None:
    with _store() as store:
        twin = tracing._Twin("http://127.0.0.1:1", store.pid)
        _tell(store, 0.6)  # the backlog of the run before

        def measure(url: str) -> LoadResult:
            time.sleep(0.3)  # a run the store would share with its backlog
            return _answered(40)

        _, _, store_us = tracing._measured(measure, twin, store.pid, export_delay=0.1)
        assert store.stdout is not None and store.stdout.readline() == "done\n"
    assert store_us < 1_000, store_us


# Starts 2,000 traces and 100 requests that arrive with a sampled traceparent, under the tracing
# set-up every service runs; prints how many of each it recorded.
_SAMPLED_TWIN = """
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from strangler_shared import setup_tracing

exporter = InMemorySpanExporter()
provider = setup_tracing("rag", exporter=exporter)
tracer = trace.get_tracer("twin")
for _ in range(2000):
    tracer.start_span("root").end()
parent = propagate.extract({"traceparent": "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"})
for _ in range(100):
    tracer.start_span("child", context=parent).end()
provider.force_flush()
names = [span.name for span in exporter.get_finished_spans()]
print(names.count("root"), names.count("child"))
"""


def test_head_sampling_records_a_tenth_of_new_traces_and_every_sampled_caller_s() -> None:
    env = {**os.environ, **tracing.HEAD_SAMPLED}
    env.pop("OTEL_SDK_DISABLED", None)
    done = subprocess.run(
        [sys.executable, "-c", _SAMPLED_TWIN], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    roots, children = map(int, done.stdout.split())
    # 10 % of 2,000 is 200, give or take 13 (one standard deviation); 120-280 is six either side.
    assert 120 <= roots <= 280, roots
    assert children == 100


# Starts one server span under the tracing set-up every service runs, with the exporter its
# environment names, ends it and shuts tracing down (which sends what was batched); prints whether
# the span recorded.
_STEP_TWIN = """
from opentelemetry import trace
from strangler_shared import setup_tracing, shutdown_tracing

setup_tracing("rag")
span = trace.get_tracer("twin").start_span("GET /api/search", kind=trace.SpanKind.SERVER)
print(span.is_recording())
span.end()
shutdown_tracing()
"""


@pytest.mark.parametrize(
    ("step", "recorded", "exported"),
    [({}, True, True), (tracing.UNEXPORTED, True, False), (tracing.UNRECORDED, False, False)],
    ids=["as the stack runs", "every span recorded, none exported", "nothing recorded"],
)
def test_each_step_twin_records_and_exports_what_its_row_says(
    step: dict[str, str], recorded: bool, exported: bool
) -> None:
    # A trace store's stand-in: it answers every post and keeps what it received.
    with JsonUpstream({}) as store:
        env = {**os.environ, **step, "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{store.address}"}
        for name in ("OTEL_SDK_DISABLED", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_EXPORTER"):
            if name not in step:
                env.pop(name, None)
        done = subprocess.run(
            [sys.executable, "-c", _STEP_TWIN], env=env, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(recorded)]
    posts = [(r.method, r.path) for r in store.received]
    assert posts == ([("POST", "/v1/traces")] if exported else [])


def test_the_twin_exporting_elsewhere_sends_its_spans_to_the_receiver_not_the_store() -> None:
    with JsonUpstream({}) as store, serve_in_thread(otlp_sink.app) as sink:
        before = httpx.get(f"{sink}/received").json()
        env = {
            **os.environ,
            **tracing.exporting_to(f"{sink}/v1/traces"),
            # The stack's services export to the trace store through this one.
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{store.address}",
        }
        for name in ("OTEL_SDK_DISABLED", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_EXPORTER"):
            env.pop(name, None)
        done = subprocess.run(
            [sys.executable, "-c", _STEP_TWIN], env=env, capture_output=True, text=True, timeout=60
        )
        after = httpx.get(f"{sink}/received").json()
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True"]
    # The exporter took the receiver's answer as success: nothing logged, nothing retried.
    assert done.stderr == ""
    assert after["exports"] == before["exports"] + 1
    assert after["bytes"] > before["bytes"]
    assert store.received == []


def test_the_steps_table_subtracts_each_twin_from_the_one_before_it_per_repeat() -> None:
    section = Section("tracing", "title", "intro")
    cpu = {
        "off": [300.0, 330.0, 360.0],
        "unrecorded": [340.0, 380.0, 400.0],
        "unexported": [380.0, 410.0, 450.0],
        "elsewhere": [390.0, 430.0, 460.0],
        "on": [400.0, 440.0, 480.0],
    }
    tracing._steps(section, {"search on rag": cpu})
    ((_, table),) = section.tables
    assert table.rows == [
        # off; unrecorded - off: 40, 50, 40; unexported - unrecorded: 40, 30, 50;
        # elsewhere - unexported: 10, 20, 10; on - elsewhere: 10, 10, 20;
        # on - off: 100, 110, 120; a ninth of off: 33, 37, 40.
        ["search on rag", "330 (300-360)", "40 (40-50)", "40 (30-50)", "10 (10-20)",
         "10 (10-20)", "110 (100-120)", "37 (33-40)"],
    ]  # fmt: skip
