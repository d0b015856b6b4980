"""The waterfall's HTML pages over a real store holding a real trace across four services."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from tracestore.palette import service_color
from tracestore.store import TraceStore

PREFIX = "/traces"


class Elements(HTMLParser):
    """Collect every start tag with its attributes, and the page's text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {key: value or "" for key, value in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def find(self, tag: str, **wanted: str) -> list[dict[str, str]]:
        """Return the attributes of every tag whose attributes contain the wanted values."""
        return [
            attrs
            for name, attrs in self.tags
            if name == tag
            and all(value in attrs.get(key, "").split() for key, value in wanted.items())
        ]

    def urls(self) -> list[str]:
        """Return every address the page links to or loads."""
        found = [attrs.get("href") or attrs.get("src") or "" for _, attrs in self.tags]
        forms = [attrs.get("action", "") for name, attrs in self.tags if name == "form"]
        return [url for url in found + forms if url]


def style_percent(style: str, prop: str) -> float:
    match = re.search(rf"(?:^|;){prop}:([0-9.]+)%", style)
    assert match, f"no {prop} in {style!r}"
    return float(match.group(1))


def test_trace_page_shows_every_span_as_a_positioned_bar(recorded_trace: Any) -> None:
    store, recorded = recorded_trace

    response = httpx.get(f"{store.base_url}/trace/{recorded.trace_id}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = Elements(response.text)
    bars = page.find("span", **{"class": "bar"})
    assert [(bar["data-service"], bar["data-name"]) for bar in bars] == recorded.spans
    for bar in bars:
        assert style_percent(bar["style"], "width") > 0
        assert f"background:{service_color(bar['data-service'])}" in bar["style"]
    gateway, core = bars[0], bars[1]
    assert style_percent(gateway["style"], "left") == 0
    assert style_percent(gateway["style"], "width") == pytest.approx(100)
    assert style_percent(core["style"], "left") > 0
    rows = page.find("details", **{"class": "row"})
    assert [int(row["data-depth"]) for row in rows] == [0, 1, 2, 2, 3, 4, 5, 4]
    assert len(page.find("details", **{"class": "error"})) == 1
    assert len(page.find("span", **{"class": "event"})) == 1


def test_trace_page_shows_the_gateway_routing_decision(recorded_trace: Any) -> None:
    store, recorded = recorded_trace

    html = httpx.get(f"{store.base_url}/trace/{recorded.trace_id}").text

    decision = re.search(r'<section class="decision".*?</section>', html, re.S)
    assert decision
    values = dict(re.findall(r'<dd data-key="(\w+)"[^>]*>([^<]*)</dd>', decision.group(0)))
    assert values == {
        "route": "suggestions",
        "mode": "legacy",
        "target": "legacy",
        "bucket": "37",
        "fallback": "no",
    }
    assert f'href="#span-{recorded.gateway_span_id}">gateway span' in decision.group(0)


def test_span_links_lead_to_the_linked_trace_and_back(recorded_trace: Any) -> None:
    store, recorded = recorded_trace
    shadow_url = f"{store.base_url}/trace/{recorded.shadow_trace_id}"

    shadow = Elements(httpx.get(shadow_url).text)
    links = shadow.find("a", **{"class": "link-chip"}) + shadow.find("a", **{"class": "span-link"})
    targets = {urljoin(shadow_url, link["href"]) for link in links}
    target = f"{store.base_url}/trace/{recorded.trace_id}#span-{recorded.gateway_span_id}"
    assert targets == {target}
    linked = httpx.get(target.split("#")[0])
    assert f'id="span-{recorded.gateway_span_id}"' in linked.text
    back = Elements(linked.text).find("a", **{"class": "span-link"})
    assert [urljoin(target, a["href"]).split("#")[0] for a in back] == [shadow_url]


def _listed(base_url: str, **params: str) -> list[str]:
    response = httpx.get(f"{base_url}/", params=params)
    assert response.status_code == 200
    rows = Elements(response.text).find("tr")
    return [row["data-trace-id"] for row in rows if "data-trace-id" in row]


def test_list_page_filters_by_route_service_status_and_duration(recorded_trace: Any) -> None:
    store, recorded = recorded_trace
    main, shadow = recorded.trace_id, recorded.shadow_trace_id

    assert _listed(store.base_url) == [shadow, main]
    assert _listed(store.base_url, route="suggestions") == [main]
    assert _listed(store.base_url, service="shadow") == [shadow]
    assert _listed(store.base_url, status="error") == [main]
    assert _listed(store.base_url, status="ok") == [shadow]
    assert _listed(store.base_url, min_ms="100") == [main]
    assert _listed(store.base_url, min_ms="100", service="shadow") == []


def test_list_page_offers_known_routes_and_services_and_links_traces(recorded_trace: Any) -> None:
    store, recorded = recorded_trace

    page = Elements(httpx.get(f"{store.base_url}/", params={"route": "suggestions"}).text)

    options = [attrs.get("value") for name, attrs in page.tags if name == "option"]
    assert "suggestions" in options
    assert {"core", "gateway", "rag", "shadow"} <= set(options)
    assert page.find("option", value="suggestions")[0].get("selected") == ""
    assert f"trace/{recorded.trace_id}" in page.urls()


def test_list_page_explains_a_bad_filter(running_store: Any) -> None:
    response = httpx.get(f"{running_store.base_url}/", params={"min_ms": "-3"})

    assert response.status_code == 422
    assert "min_ms must be a number of milliseconds" in response.text


def test_api_lists_with_the_same_filters(recorded_trace: Any) -> None:
    store, recorded = recorded_trace
    url = f"{store.base_url}/api/traces"

    body = httpx.get(url, params={"route": "suggestions", "status": "error", "min_ms": 50}).json()
    bad = httpx.get(url, params={"status": "maybe"})

    assert [(t["trace_id"], t["route"]) for t in body["traces"]] == [
        (recorded.trace_id, "suggestions")
    ]
    assert (bad.status_code, bad.json()["error"]["fields"]) == (
        422,
        {"status": "status must be ok or error"},
    )


def _check_links(base: str, path: str) -> None:
    """Fetch every address of the page at base + path, resolved as a browser resolves them."""
    page_url = f"{base}{path}"
    response = httpx.get(page_url)
    assert response.status_code == 200, page_url
    for url in Elements(response.text).urls():
        resolved = urljoin(page_url, url).split("#")[0]
        assert resolved.startswith(base), f"{url} leaves {base}"
        assert httpx.get(resolved).status_code == 200, f"{url} on {page_url}"


@pytest.mark.parametrize("strip", [False, True], ids=["prefix-passed", "prefix-stripped"])
def test_pages_work_under_the_gateway_prefix(recorded_trace: Any, strip: bool) -> None:
    store, recorded = recorded_trace
    # A proxy that strips /traces serves /traces/x from the store's /x; one that passes it through
    # serves it from /traces/x. Both must resolve every relative address the pages contain.
    base = store.base_url if strip else f"{store.base_url}{PREFIX}"

    _check_links(base, "/")
    _check_links(base, f"/trace/{recorded.trace_id}")
    _check_links(base, f"/trace/{recorded.shadow_trace_id}")


def test_pages_only_load_their_own_assets(recorded_trace: Any) -> None:
    store, recorded = recorded_trace

    response = httpx.get(f"{store.base_url}{PREFIX}/trace/{recorded.trace_id}")
    css = httpx.get(f"{store.base_url}{PREFIX}/static/waterfall.css")
    script = httpx.get(f"{store.base_url}/static/waterfall.js")

    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert not [url for url in Elements(response.text).urls() if "//" in url]
    assert css.headers["content-type"].startswith("text/css")
    assert "javascript" in script.headers["content-type"]


def test_span_names_and_attribute_values_are_escaped(running_store: Any, make_span: Any) -> None:
    trace = "f" * 32
    hostile = '"><script>alert(1)</script>'
    with TraceStore(running_store.db_path) as store:
        store.insert(
            [
                make_span(
                    trace,
                    "1" * 16,
                    None,
                    name=f"GET {hostile}",
                    service=f"svc{hostile}",
                    start_ms=0,
                    end_ms=1,
                    attributes={"migration.route": hostile, "note": hostile},
                )
            ]
        )

    pages = [
        httpx.get(f"{running_store.base_url}/trace/{trace}").text,
        httpx.get(f"{running_store.base_url}/").text,
    ]

    for html in pages:
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        scripts = [attrs for tag, attrs in Elements(html).tags if tag == "script"]
        assert [attrs.get("src", "").endswith("waterfall.js") for attrs in scripts] == [True]


def test_unknown_and_malformed_trace_ids_get_a_page(running_store: Any) -> None:
    unknown = httpx.get(f"{running_store.base_url}/trace/{'c' * 32}")
    malformed = httpx.get(f"{running_store.base_url}{PREFIX}/trace/not-hex")

    assert (unknown.status_code, malformed.status_code) == (404, 422)
    assert "is not in the store" in unknown.text
    assert "is not a trace id" in malformed.text
    assert unknown.headers["content-type"].startswith("text/html")


def test_a_unique_prefix_opens_the_trace(recorded_trace: Any) -> None:
    store, recorded = recorded_trace

    response = httpx.get(f"{store.base_url}/trace/{recorded.trace_id[:12]}")

    assert response.status_code == 200
    assert recorded.trace_id in response.text
