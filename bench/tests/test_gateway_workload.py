"""The gateway workload: its table of where the CPU goes, and how many repeats it takes."""

from strangler_bench.__main__ import parse
from strangler_bench.model import Section
from strangler_bench.workloads import gateway


def test_the_cpu_row_sets_each_tree_side_by_side_and_adds_what_nginx_s_run_cost_in_all() -> None:
    section = Section("gateway", "title", "intro")
    table = section.table("caption", "upstream", "a", "b", "c", "d", "e", "f")
    # Per repeat, µs per request: [service, nginx, trace store].
    direct = [[2000.0, 0.0, 70.0], [2100.0, 1.0, 60.0], [1900.0, 0.0, 80.0]]
    through = [[2300.0, 130.0, 120.0], [2200.0, 120.0, 130.0], [2400.0, 140.0, 110.0]]
    gateway._add_cpu_row(table, "core", direct, through)
    assert table.rows == [
        # added per repeat: 2550 - 2070 = 480, 2450 - 2161 = 289, 2650 - 1980 = 670.
        ["core", "2000 (1900-2100)", "2300 (2200-2400)", "130 (120-140)", "70 (60-80)",
         "120 (110-130)", "480 (289-670)"],
    ]  # fmt: skip


def test_the_gateway_takes_repeats_of_its_own_more_than_the_others_by_default() -> None:
    settings, _ = parse([])
    assert (settings.repeats, settings.gateway_repeats) == (3, 7)
    settings, _ = parse(["--repeats", "2", "--gateway-repeats", "5"])
    assert (settings.repeats, settings.gateway_repeats) == (2, 5)
    # The smoke test's tiny run stays tiny.
    settings, _ = parse(["--quick"])
    assert settings.gateway_repeats == 1
