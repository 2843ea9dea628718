"""``install_web``: the UI's page at ``/``, its assets under ``/static`` and its node settings at
``/ui/config``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
CONFIG_PATH = "/ui/config"  # open like the page: it asks for the API key itself

# Only this node's origin: no CDN, no outside request, no inline script (defence in depth behind the
# sanitizer: even markup that slipped through could not run a handler).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
_PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def ui_config(store_history: bool) -> dict[str, object]:
    """What the page needs to know of its node before it stores anything (docs/api.md)."""
    return {"store_history": store_history}


def install_web(app: FastAPI, *, store_history: bool = True) -> None:
    """Serve the UI: ``GET /`` is ``index.html``, ``/static/*`` its CSS, JS and vendor files,
    ``/ui/config`` the node's settings for the page (``store_history``: may it keep the conversation in
    the browser)."""

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def web_index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=_PAGE_HEADERS)

    @app.get(CONFIG_PATH, include_in_schema=False)
    async def web_config() -> JSONResponse:
        return JSONResponse(ui_config(store_history), headers={"Cache-Control": "no-store"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
