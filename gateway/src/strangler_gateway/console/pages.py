"""The console's pages: the overview, a route's page, and the confirm-then-act flow of actions.

Reading is open on the local stack; with ``staff_to_read`` (production) every page needs a staff
identity from the gateway. Every action needs one, and a CSRF token of the user's session: an
action refused for either changes nothing and the page says why.
"""

import time
from typing import Any
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from strangler_gateway.console import rollouts
from strangler_gateway.console.access import Visitor, csrf_token, csrf_valid, visitor
from strangler_gateway.console.actions import ActionError, perform, plan
from strangler_gateway.console.charts import sparkline
from strangler_gateway.console.faults import read_faults
from strangler_gateway.console.parity import read_parity
from strangler_gateway.console.records import read_history, read_rollouts
from strangler_gateway.console.rollouts import ROLLOUT_ACTIONS, plan_rollout
from strangler_gateway.console.settings import ConsoleSettings
from strangler_gateway.errors import GatewayError

__all__ = [
    "confirm_action",
    "do_action",
    "live_fragment",
    "problem",
    "read_overview",
    "read_route",
    "refusal",
    "rollout_action",
]


# How often the overview asks the services for their fault flags.
FAULT_SECONDS = 10.0
# The action forms carry a token and a percent: anything longer is not one of them.
_MAX_FORM = 4096


def _settings(request: Request) -> ConsoleSettings:
    settings: ConsoleSettings = request.app.state.settings
    return settings


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a page template with the request, the visitor and the console's helpers."""
    templates: Jinja2Templates = request.app.state.templates
    settings = _settings(request)
    context.setdefault("visitor", visitor(request, settings.identity_secret))
    context.setdefault("staff_to_read", settings.staff_to_read)
    context["sparkline"] = sparkline
    return templates.TemplateResponse(request, template, context, status_code=status)


def problem(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    """Return a page that says what went wrong."""
    return render(request, "problem.html", status, title=title, detail=detail)


def refusal(request: Request, reason: str) -> HTMLResponse:
    """Return the 403 page of a visitor who may not read (production) or act."""
    return problem(request, 403, "Refused: nothing was changed", reason)


def _may_read(request: Request) -> Visitor | None:
    settings = _settings(request)
    who = visitor(request, settings.identity_secret)
    return None if settings.staff_to_read and not who.staff else who


async def read_overview(request: Request) -> HTMLResponse:
    """Show every route with its mode, split, upstreams and live figures."""
    if _may_read(request) is None:
        return refusal(request, visitor(request, _settings(request).identity_secret).reason)
    return render(request, "overview.html", **await _overview_context(request))


async def _overview_context(request: Request) -> dict[str, Any]:
    settings = _settings(request)
    overview = request.app.state.snapshot.overview()
    state = request.app.state
    # Read at most every FAULT_SECONDS whoever is watching: each read is a request to a service.
    if time.monotonic() - getattr(state, "faults_read", -FAULT_SECONDS) >= FAULT_SECONDS:
        state.faults = await read_faults(
            state.client, settings.fault_sources, settings.service_token
        )
        state.faults_read = time.monotonic()
    return {"overview": overview, "faults": state.faults}


async def read_route(request: Request) -> HTMLResponse:
    """Show one route: live figures, change history, shadow parity, rollouts and actions."""
    who = _may_read(request)
    if who is None:
        return refusal(request, visitor(request, _settings(request).identity_secret).reason)
    settings, name = _settings(request), request.path_params["name"]
    view = request.app.state.snapshot.overview().route(name)
    if view is None:
        return problem(request, 404, "No such route", f"the route table has no route '{name}'")
    parity = read_parity(settings.shadow_db, name, window_seconds=3600, buckets=settings.buckets)
    return render(
        request,
        "route.html",
        view=view,
        overview=request.app.state.snapshot.overview(),
        history=read_history(settings.prefix, name),
        rollouts=read_rollouts(settings.prefix, name),
        parity=parity,
        csrf=csrf_token(request, settings.identity_secret),
    )


async def live_fragment(request: Request, route: str | None) -> str:
    """Return the live part of the overview, or of one route's page, as HTML."""
    templates: Jinja2Templates = request.app.state.templates
    if route is None:
        context = await _overview_context(request)
        template = "_routes.html"
    else:
        view = request.app.state.snapshot.overview().route(route)
        context, template = {"view": view}, "_figures.html"
    context["sparkline"] = sparkline
    return templates.get_template(template).render(context)


async def confirm_action(request: Request) -> HTMLResponse:
    """Show what an action will do, with the button that does it."""
    settings, name = _settings(request), request.path_params["name"]
    action = request.query_params.get("action", "")
    percent = request.query_params.get("percent")
    who = visitor(request, settings.identity_secret)
    try:
        if action in ROLLOUT_ACTIONS:
            chosen = plan_rollout(settings.routes, settings.prefix, name, action)
        else:
            chosen = plan(settings.routes, name, action, percent)
    except GatewayError as error:
        return problem(request, 409, "This action cannot be done", str(error))
    return render(
        request,
        "confirm.html",
        plan=chosen,
        percent=percent or "",
        csrf=csrf_token(request, settings.identity_secret),
        allowed=who.staff,
    )


async def _form(request: Request) -> dict[str, str]:
    """Return an urlencoded form's fields (the action forms send nothing else)."""
    body = (await request.body())[:_MAX_FORM].decode(errors="replace")
    return {name: values[0] for name, values in parse_qs(body).items()}


async def do_action(request: Request) -> HTMLResponse:
    """Do an action as a signed-in staff user with a valid CSRF token, or refuse and say why."""
    settings = _settings(request)
    name, action = request.path_params["name"], request.path_params["action"]
    form = await _form(request)
    who = visitor(request, settings.identity_secret)
    if not who.staff:
        return refusal(request, who.reason)
    if not csrf_valid(request, settings.identity_secret, form.get("csrf_token", "")):
        reason = "the form's CSRF token is missing or not this session's: reload the page"
        return refusal(request, reason)
    if action in ROLLOUT_ACTIONS:
        return await run_in_threadpool(rollout_action, request, name, action)
    percent = form.get("percent")
    try:
        change = perform(settings.routes, settings.prefix, name, action, percent or None, who.actor)
    except (ActionError, GatewayError) as error:
        return problem(request, 409, "Refused by the gateway: nothing was changed", str(error))
    return render(request, "done.html", change=change, action=action, route=name)


def rollout_action(request: Request, name: str, action: str) -> HTMLResponse:
    """Start or abort the route's rollout (already allowed), or refuse and say why."""
    settings = _settings(request)
    try:
        if action == "start-rollout":
            started = rollouts.start(settings.routes, settings.prefix, settings.shadow_db, name)
            return render(request, "rollout_started.html", started=started, route=name)
        change = rollouts.abort(settings.routes, settings.prefix, name)
    except GatewayError as error:
        return problem(request, 409, "Refused: the rollout was not changed", str(error))
    return render(request, "done.html", change=change, action=action, route=name)
