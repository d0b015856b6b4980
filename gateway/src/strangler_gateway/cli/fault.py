"""``strangler fault rag [--error-rate R] [--latency-ms MS] [--token-delay-ms MS] | --clear``.

Make the new side worse on purpose and watch a rollout catch it: the flags go to rag's
``PUT /internal/faults`` (flags not given are switched off) and ``strangler routes`` shows them.
"""

import argparse
from typing import Any

from strangler_gateway.cli.command import Context, Exit
from strangler_gateway.tools.faults import FaultService, write_faults

__all__ = ["describe_faults", "fault", "fault_arguments"]


def fault_arguments(parser: argparse.ArgumentParser) -> None:
    """Add SERVICE and the fault flags."""
    parser.add_argument("service", choices=("rag",), help="the service to make worse")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share answered 500 (0..1)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added before each request")
    parser.add_argument("--token-delay-ms", type=float, default=0.0, help="added before each token")
    parser.add_argument("--inject-field", default="", help="a field added to search answers")
    parser.add_argument("--clear", action="store_true", help="switch every fault off")


def fault(args: argparse.Namespace, ctx: Context) -> int:
    """Set (or clear) a service's runtime faults."""
    flags: dict[str, Any] = {}
    if not args.clear:
        flags = {"error_rate": args.error_rate, "added_latency_seconds": args.latency_ms / 1000,
                 "token_delay_seconds": args.token_delay_ms / 1000,
                 "inject_field": args.inject_field}  # fmt: skip
    service = FaultService.locate(args.service, ctx.routes, ctx.prefix)
    now = write_faults(service, flags)
    ctx.console.print(f"{args.service} ({service.url}): {describe_faults(now)}", markup=False)
    return Exit.OK


def describe_faults(flags: dict[str, Any]) -> str:
    """Return the active faults in a few words ("no faults" when none is on)."""
    parts = []
    if flags.get("error_rate"):
        parts.append(f"{flags['error_rate']:.0%} errors")
    if flags.get("added_latency_seconds"):
        parts.append(f"+{flags['added_latency_seconds'] * 1000:g} ms latency")
    if flags.get("token_delay_seconds"):
        parts.append(f"+{flags['token_delay_seconds'] * 1000:g} ms per token")
    if flags.get("inject_field"):
        parts.append(f"field '{flags['inject_field']}' injected")
    return ", ".join(parts) or "no faults"
