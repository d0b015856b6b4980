"""The load clients: what they count as completed, failed and cut, on a real socket."""

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from strangler_bench import load, wrk
from strangler_bench.load import Request

_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
_BAD = b"HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbusy\r\n0\r\n\r\n"


def _serve(delay: float, status_path_bad: str, firsts: list[float] | None = None) -> Iterator[str]:
    """Serve keep-alive HTTP/1.1; note when each connection's first request came in ``firsts``."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    port: list[int] = []
    stop = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first = True
        try:
            while line := await reader.readline():
                if first and firsts is not None:
                    firsts.append(time.perf_counter())
                first = False
                while (await reader.readline()) not in (b"\r\n", b""):
                    pass
                await asyncio.sleep(delay)
                writer.write(_BAD if status_path_bad.encode() in line else _OK)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port.append(server.sockets[0].getsockname()[1])
        started.set()
        await stop.wait()
        server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    thread.start()
    assert started.wait(10)
    yield f"http://127.0.0.1:{port[0]}"
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)
    # Closed, or its self-pipe sockets leak and pytest fails a later test on the ResourceWarning.
    loop.close()


@pytest.fixture
def server() -> Iterator[str]:
    """A keep-alive HTTP/1.1 server answering each request after 50 ms; /bad answers 503."""
    yield from _serve(0.05, "/bad")


def test_without_a_ramp_the_window_runs_from_the_first_answer_to_the_first_finished_connection(
    server: str,
) -> None:
    result = load.run_rounds(server, Request("/"), connections=5, rounds=4, deadline=10)
    assert result.errors == 0 and result.unfinished == 0
    # Every connection's second and third answers, and the last ones that came by the window's
    # end.
    assert 11 <= result.completed <= 15
    # Three 50 ms answers back to back per connection after the first: about 0.15 s, nowhere
    # near the deadline; at most five answers per 50 ms.
    assert 0.14 <= result.seconds < 2 and 45 <= result.p50_ms < 1000 and result.rps <= 101


def test_connections_start_spread_evenly_over_the_ramp() -> None:
    firsts: list[float] = []
    for url in _serve(0.05, "/bad", firsts):
        load.run_rounds(url, Request("/"), connections=5, rounds=2, deadline=10, ramp=0.4)
    gaps = [later - earlier for earlier, later in itertools.pairwise(firsts)]
    # One connection every 0.08 s, not five in the same millisecond.
    assert len(firsts) == 5 and min(gaps) >= 0.05 and firsts[-1] - firsts[0] >= 0.28


def test_the_rate_leaves_out_the_ramp_and_the_drain() -> None:
    for url in _serve(0.1, "/bad"):
        result = load.run_rounds(url, Request("/"), connections=5, rounds=6, deadline=10, ramp=0.2)
    # Five connections each waiting 0.1 s per answer: 50 rps while all are busy. Counted from the
    # first send to the last answer (0.2 s of ramp, then 0.6 s of rounds) it would be at most
    # 30 / 0.8 = 37.5 rps; all 30 answers in the 0.4 s window would read 75.
    # A real server's timing moves the window's ends by milliseconds, and the reading by a few
    # per cent (51.9 on a quiet run): the window's exact count (half-open, one answer fewer than
    # with both ends in) is asserted on synthetic tallies below, not here.
    assert result.errors == 0 and result.unfinished == 0 and result.completed < 30
    assert 0.3 <= result.seconds <= 0.5 and 40 <= result.rps <= 60
    # The servers answered all 30, those of the ramp and the drain too.
    assert result.answered == 30 and result.outside_window == 30 - result.completed


def test_a_closed_loop_at_its_ideal_rate_measures_exactly_the_ideal() -> None:
    # Ten connections started 0.1 s apart over a 1 s ramp, two rounds each of a 1 s answer, the
    # connection ending as its last answer comes: ten answers a second while all are busy.
    tally = load._Tally()
    for index in range(10):
        first = index / 10 + 1.0
        tally.answers += [(first, 1000.0), (first + 1.0, 1000.0)]
        tally.ends.append(first + 1.0)
    begin, end = load._steady_window(tally, rounds=2, ramped=1.0, started=0.0, deadline=10.0)
    counted = load._latencies_within(tally, begin, end)
    # From the first connection's first answer to its last: one answer per connection.
    assert (begin, end) == (1.0, 2.0) and len(counted) / (end - begin) == pytest.approx(10.0)


def test_a_herd_is_counted_from_its_first_answer_not_its_first_send() -> None:
    # A hundred connections sending at once, four rounds of a 1 s answer; the server's CPU
    # spreads each round's answers over half a second, and they stay so: 100 answers a second.
    tally = load._Tally()
    for index in range(100):
        answers = [1.0 + index * 0.005 + round_ for round_ in range(4)]
        tally.answers += [(finished, 1000.0) for finished in answers]
        tally.ends.append(answers[-1])
    begin, end = load._steady_window(tally, rounds=4, ramped=0.0, started=0.0, deadline=10.0)
    counted = load._latencies_within(tally, begin, end)
    # From the first send, the window would hold 1 s with no answer and 301 answers in 4 s (75).
    assert (begin, end) == (1.0, 4.0) and len(counted) / (end - begin) == pytest.approx(100.0)


def test_a_single_round_counts_the_whole_run() -> None:
    # One round leaves no span when every connection is busy: the first answer (0.12 s) comes
    # just after the ramp (0.1 s), and a window from one to the other would hold one answer in
    # 0.02 s.
    for url in _serve(0.12, "/bad"):
        result = load.run_rounds(url, Request("/"), connections=3, rounds=1, deadline=10, ramp=0.1)
    assert result.completed == 3 and 0.18 <= result.seconds < 1


def test_requests_waiting_at_the_deadline_are_cut_not_failed(server: str) -> None:
    result = load.run_rounds(server, Request("/"), connections=2, rounds=100, deadline=0.3)
    assert result.unfinished == 2 and result.errors == 0
    assert 0 < result.completed < 200 and result.seconds == pytest.approx(0.3, abs=0.1)


def test_an_answer_faster_than_the_floor_is_an_error(server: str) -> None:
    # A 2xx in less time than the work the load waits on (a model's latency) skipped that work:
    # a chat answered from an empty index came back in 1 ms where the model takes 1 s.
    fast = load.run_rounds(server, Request("/"), connections=2, rounds=3, deadline=5, floor=0.2)
    slow_enough = load.run_rounds(
        server, Request("/"), connections=2, rounds=3, deadline=5, floor=0.02
    )
    assert fast.completed == 0 and fast.errors == 6 and fast.too_fast == 6
    assert slow_enough.errors == 0 and slow_enough.too_fast == 0 and slow_enough.answered == 6


def test_a_non_2xx_answer_with_a_chunked_body_is_an_error(server: str) -> None:
    result = load.run(server, Request("/bad"), 2, 0.3, use_wrk=False)
    assert result.completed == 0 and result.errors >= 2


def test_a_pause_caps_each_connections_rate_and_stays_out_of_the_latency(server: str) -> None:
    # 50 ms to answer: 72 answers on 2 connections in 1.8 s without a pause, 24 with a 100 ms
    # one on average. More than 36 would take the mean of about 18 pauses, uniform from 0 to
    # 200 ms, under 50 ms: 3.7 standard deviations, a chance of 1 in 10,000.
    result = load.run(server, Request("/"), 2, 1.8, use_wrk=False, pause=0.1)
    assert 8 <= result.completed <= 36 and result.errors == 0
    assert 45 <= result.p50_ms < 90


def test_loads_run_together_overlap_and_come_back_in_order() -> None:
    firsts: list[float] = []
    for url in _serve(0.05, "/bad", firsts):
        good, bad = load.run_together(
            [(url, Request("/")), (url, Request("/bad"))], 2, 1.0, use_wrk=False
        )
    assert good.completed > 0 and good.errors == 0
    assert bad.completed == 0 and bad.errors > 0
    # Four connections, all opened before either load's second ended: one after the other, the
    # second load's two would come a second after the first load's.
    assert len(firsts) == 4 and max(firsts) - min(firsts) < 0.9


def test_wrk_pauses_with_its_delay_hook() -> None:
    script = wrk._script(Request("/"), pause=0.025)
    assert "delay = function() return math.random(0, 50) end" in script
    assert "delay" not in wrk._script(Request("/"))


def test_requests_taking_turns_read_what_one_side_adds_to_a_request() -> None:
    # The "gateway" answers 20 ms later than the "service": taking turns, one request at a time,
    # the difference of the two p50s is those 20 ms, not a queue.
    for direct in _serve(0.005, "/bad"):
        for through in _serve(0.025, "/bad"):
            alone, hop = load.alternating_p50s(
                [(direct, Request("/")), (through, Request("/"))], 40
            )
    assert 5 <= alone < 20 and 15 <= hop - alone <= 40, (alone, hop)


def test_three_sides_take_turns_and_each_reads_its_own_p50() -> None:
    # The hop with a reference beside it: rag's own endpoint, core, and a bare twin of core,
    # each 20 ms apart, in turn; no side waits on another's queue.
    for first in _serve(0.005, "/bad"):
        for second in _serve(0.025, "/bad"):
            for third in _serve(0.045, "/bad"):
                p50s = load.alternating_p50s(
                    [(first, Request("/")), (second, Request("/")), (third, Request("/"))], 30
                )
    alone, via, reference = p50s
    assert 5 <= alone < 20, p50s
    assert 15 <= via - alone <= 40 and 15 <= reference - via <= 40, p50s


def test_taking_turns_sends_each_side_its_own_request() -> None:
    # The hop compares two different endpoints: each side's path goes to that side only.
    for url in _serve(0.0, "/bad"):
        fine = load.alternating_p50s([(url, Request("/a")), (url, Request("/b"))], 5)
        with pytest.raises(httpx.HTTPStatusError, match="/bad"):
            load.alternating_p50s([(url, Request("/a")), (url, Request("/bad"))], 5)
    assert all(p50 > 0 for p50 in fine)
