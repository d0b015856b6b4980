"""Where the monolith delegates to the new service: customer suggestions come from rag over HTTP.

Core calls ``GET {RAG_BASE_URL}/internal/customers/{id}/suggestions`` with the service token and a
deadline, and turns every way that call can fail into one exception with an HTTP status and code,
so the API answers a clear error instead of hanging or leaking a traceback. The calls share the
process's pooled client (``core.outbound``), made after the worker forks, so the httpx
instrumentation applies and a call reuses a kept-alive connection.
"""

import logging
from typing import Any

import httpx
from django.conf import settings
from strangler_shared import load_service_token

from core.outbound import pooled_client

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 1.0


class UpstreamError(Exception):
    """The call to rag failed; ``status`` and ``code`` are what core answers its client."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def fetch_suggestions(customer_id: int, k: int) -> dict[str, Any]:
    """Return rag's suggestions for the customer, or raise UpstreamError."""
    # The query in the URL itself (both are validated integers): httpx's `params=` parses the
    # whole URL once more to merge them, 0.26 M of the call's 5.09 M instructions.
    url = f"{settings.RAG_BASE_URL.rstrip('/')}/internal/customers/{customer_id}/suggestions?k={k}"
    headers = {"Authorization": f"Bearer {load_service_token()}"}
    timeout = httpx.Timeout(settings.CORE_RAG_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)
    try:
        client = pooled_client("rag")
        response = client.get(url, headers=headers, timeout=timeout)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        # Nothing reached rag: the request can be retried elsewhere (the gateway falls back).
        logger.warning("rag is unreachable at %s: %s", url, exc)
        raise UpstreamError(
            502, "upstream_unavailable", "the suggestion service is unreachable"
        ) from exc
    except httpx.TimeoutException as exc:
        logger.warning("rag did not answer in time: %s", exc)
        raise UpstreamError(504, "upstream_timeout", "the suggestion service timed out") from exc
    except httpx.HTTPError as exc:
        logger.warning("rag call failed: %s", exc)
        raise UpstreamError(502, "upstream_error", "the suggestion service failed") from exc
    return _body_of(response, customer_id)


def _body_of(response: httpx.Response, customer_id: int) -> dict[str, Any]:
    if response.status_code == 404:
        raise UpstreamError(404, "not_found", f"customer {customer_id} not found")
    if response.status_code != 200:
        logger.warning("rag answered %s for customer %s", response.status_code, customer_id)
        raise UpstreamError(502, "upstream_error", "the suggestion service failed")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        logger.warning("rag answered a body that is not a JSON object")
        raise UpstreamError(502, "upstream_error", "the suggestion service answered nonsense")
    return body
