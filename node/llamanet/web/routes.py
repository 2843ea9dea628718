"""``install_web``: the UI's page at ``/`` and its assets under ``/static``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"

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


def install_web(app: FastAPI) -> None:
    """Serve the UI: ``GET /`` is ``index.html``, ``/static/*`` its CSS, JS and vendor files."""

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def web_index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=_PAGE_HEADERS)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
