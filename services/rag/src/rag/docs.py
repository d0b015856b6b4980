"""rag's API docs page, with Swagger UI served by rag itself.

FastAPI's default ``/docs`` loads Swagger UI from a CDN, so on a machine without internet it is a
blank page. The Swagger UI files ship inside this package (``static/swagger-ui``, vendored from
the ``swagger-ui-dist`` npm package with its licence) and the page points at them.
"""

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS_URL = "/static/swagger-ui"
_ASSETS_DIR = Path(__file__).parent / "static" / "swagger-ui"


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` with Swagger UI's script, style and icon from this package."""
    app.mount(ASSETS_URL, StaticFiles(directory=_ASSETS_DIR), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    async def read_docs() -> HTMLResponse:
        """Return the Swagger UI page for rag's OpenAPI document."""
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — API docs",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
        )
