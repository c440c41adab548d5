"""The web page at ``/``: small static files, no build step."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse

router = APIRouter(include_in_schema=False)


def web_dir() -> Path:
    return Path(str(resources.files("hanvoice.service").joinpath("web")))


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(web_dir() / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    """The page's icon, for browsers that ask at the conventional path (a 404 there is an
    error in their console)."""
    return FileResponse(
        web_dir() / "favicon.svg",
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/.well-known/appspecific/com.chrome.devtools.json")
async def devtools() -> JSONResponse:
    """Chrome asks for this whenever its DevTools are open, and a 404 is an error in the
    console of anyone looking at the page. An empty object: no workspace to offer."""
    return JSONResponse({}, headers={"Cache-Control": "public, max-age=86400"})
