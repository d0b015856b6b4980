"""``strangler fault rag [--error-rate R] [--latency-ms MS] [--token-delay-ms MS]
[--inject-field NAME] | --clear`` and ``strangler fault core --noise-field NAME | --clear``.

Make the new side worse on purpose and watch a rollout catch it, or make the monolith answer a
field that differs every time and watch the shadow comparator cancel it as noise: the flags go
to the service's ``PUT /internal/faults`` (flags not given are switched off) and
``strangler routes`` shows them.
"""

import argparse
from typing import Any

from strangler_gateway.cli.command import Context, Exit
from strangler_gateway.errors import GatewayError
from strangler_gateway.tools.faults import FaultService, write_faults

__all__ = ["describe_faults", "fault", "fault_arguments"]


def fault_arguments(parser: argparse.ArgumentParser) -> None:
    """Add SERVICE and the fault flags."""
    parser.add_argument("service", choices=("rag", "core"), help="the service to make worse")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share answered 500 (0..1)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added before each request")
    parser.add_argument("--token-delay-ms", type=float, default=0.0, help="added before each token")
    parser.add_argument("--inject-field", default="", help="a field added to search answers")
    parser.add_argument(
        "--noise-field", default="", help="core: a field with a new value in every API answer"
    )
    parser.add_argument("--clear", action="store_true", help="switch every fault off")


def fault(args: argparse.Namespace, ctx: Context) -> int:
    """Set (or clear) a service's runtime faults."""
    flags: dict[str, Any] = {}
    if not args.clear:
        flags = _core_flags(args) if args.service == "core" else _rag_flags(args)
    service = FaultService.locate(args.service, ctx.routes, ctx.prefix)
    now = write_faults(service, flags)
    ctx.console.print(f"{args.service} ({service.url}): {describe_faults(now)}", markup=False)
    return Exit.OK


def _rag_flags(args: argparse.Namespace) -> dict[str, Any]:
    if args.noise_field:
        raise GatewayError("--noise-field is core's fault (legacy noise), not rag's")
    return {"error_rate": args.error_rate, "added_latency_seconds": args.latency_ms / 1000,
            "token_delay_seconds": args.token_delay_ms / 1000,
            "inject_field": args.inject_field}  # fmt: skip


def _core_flags(args: argparse.Namespace) -> dict[str, Any]:
    given = {
        "--error-rate": args.error_rate,
        "--latency-ms": args.latency_ms,
        "--token-delay-ms": args.token_delay_ms,
        "--inject-field": args.inject_field,
    }
    if rag_only := [flag for flag, value in given.items() if value]:
        raise GatewayError(f"core takes only --noise-field, not {', '.join(rag_only)} (rag's)")
    return {"noise_field": args.noise_field}


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
    if flags.get("noise_field"):
        parts.append(f"noise in field '{flags['noise_field']}'")
    return ", ".join(parts) or "no faults"
