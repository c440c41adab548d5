"""The web page at ``/``: small static files, no build step."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter(include_in_schema=False)


def web_dir() -> Path:
    return Path(str(resources.files("hanvoice.service").joinpath("web")))


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(web_dir() / "index.html", headers={"Cache-Control": "no-cache"})
