"""The admin's messages still go from one request to the next; other requests never open the
message store."""

from collections.abc import Callable
from typing import Any, cast

import pytest
from django.contrib import messages
from django.contrib.messages import middleware as django_messages
from django.contrib.messages.storage import default_storage
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.test import Client, RequestFactory

from core.config import middleware
from core.config.middleware import LazyMessageMiddleware

pytestmark = pytest.mark.django_db

View = Callable[[HttpRequest], HttpResponseBase]


def _serve(view: View, cookies: dict[str, str]) -> HttpResponseBase:
    request = RequestFactory().get("/admin/")
    request.COOKIES.update(cookies)
    chain = SessionMiddleware(cast(Any, LazyMessageMiddleware(view)))
    return cast(HttpResponseBase, chain(request))


def test_a_message_added_in_one_request_is_read_in_the_next() -> None:
    def save(request: HttpRequest) -> HttpResponse:
        messages.success(request, "The customer was added.")
        return HttpResponse("saved")

    seen: list[str] = []

    def show(request: HttpRequest) -> HttpResponse:
        seen.extend(str(message) for message in messages.get_messages(request))
        return HttpResponse("shown")

    first = _serve(save, {})
    cookies = {name: morsel.value for name, morsel in first.cookies.items()}
    second = _serve(show, cookies)

    assert seen == ["The customer was added."]
    assert second.cookies["messages"].value == ""  # read once, then cleared


def test_a_request_that_uses_no_messages_never_builds_the_store(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[HttpRequest] = []

    def counting_storage(request: HttpRequest) -> object:
        built.append(request)
        return default_storage(request)

    # Django's own middleware as well: the test fails if the settings go back to it.
    monkeypatch.setattr(middleware, "default_storage", counting_storage)
    monkeypatch.setattr(django_messages, "default_storage", counting_storage)

    response = client.get("/api/search", {"q": "refund"})

    assert response.status_code == 200
    assert "messages" not in response.cookies
    assert built == []
