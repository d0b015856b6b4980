"""An article edited in the Django admin reaches rag's search within seconds; a deletion too.

Rag polls core's change feed (``CoreService.ListArticles`` from its last cursor), so neither a
restart nor a full re-sync is needed: the test checks rag's process is the same one throughout.
It works through the real admin with a logged-in session, as an editor would, on an article it
creates and deletes itself, so the seeded corpus the other suites rely on is left as it was.
"""

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from devstack import Stack

pytestmark = pytest.mark.stack

ADMIN = "/admin/knowledge/article"
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _csrf(admin: httpx.Client, path: str) -> str:
    page = admin.get(path)
    page.raise_for_status()
    match = _CSRF.search(page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def _submit(admin: httpx.Client, path: str, fields: dict[str, str]) -> httpx.Response:
    response = admin.post(path, data={"csrfmiddlewaretoken": _csrf(admin, path), **fields})
    assert response.status_code == 302, response.text[-2000:]
    return response


@pytest.fixture
def admin(stack: Stack) -> Iterator[httpx.Client]:
    """An HTTP client logged in to core's Django admin as the seeded superuser."""
    base = f"http://127.0.0.1:{stack.config.ports.core_http}"
    with httpx.Client(base_url=base, timeout=10) as client:
        login = "/admin/login/?next=/admin/"
        _submit(client, login, {"username": "admin", "password": stack.secrets.admin_password})
        yield client


def _article_fields(slug: str, body: str) -> dict[str, str]:
    return {"slug": slug, "title": f"Sync probe {slug}", "body": body, "tags": "[]", "_save": "1"}


def _article_id(admin: httpx.Client, slug: str) -> int:
    listing = admin.get(f"{ADMIN}/", params={"q": slug})
    ids = {int(found) for found in re.findall(rf"{ADMIN}/(\d+)/change/", listing.text)}
    assert len(ids) == 1, ids
    return ids.pop()


def _rag_slugs(stack: Stack, query: str) -> list[str]:
    url = f"http://127.0.0.1:{stack.config.ports.rag_http}/api/search"
    response = httpx.get(url, params={"q": query, "k": 5}, timeout=5)
    response.raise_for_status()
    return [result["slug"] for result in response.json()["results"]]


def test_admin_edits_and_deletions_reach_rag_without_a_restart(
    stack: Stack, admin: httpx.Client, poll: Callable[..., Any]
) -> None:
    rag_pid = stack.running()["rag"]
    token = uuid.uuid4().hex[:10]
    slug, before, after = f"sync-probe-{token}", f"quokka{token}", f"wombat{token}"

    _submit(admin, f"{ADMIN}/add/", _article_fields(slug, f"Feeding the {before} at dawn."))
    article_id = _article_id(admin, slug)
    poll(lambda: _rag_slugs(stack, before) == [slug], seconds=20)

    change = f"{ADMIN}/{article_id}/change/"
    _submit(admin, change, _article_fields(slug, f"Feeding the {after} at dusk."))
    poll(lambda: _rag_slugs(stack, after) == [slug] and not _rag_slugs(stack, before), seconds=20)

    _submit(admin, f"{ADMIN}/{article_id}/delete/", {"post": "yes"})
    poll(lambda: _rag_slugs(stack, after) == [], seconds=20)

    assert stack.running()["rag"] == rag_pid
