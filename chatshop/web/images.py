"""The shop window's photos: ``/image/<sha256>-<variant>.jpg``.

A kept photo never changes (its name is the SHA-256 of its bytes), so an answer is
cached for a year as ``immutable`` and its ETag is its name: a browser asking again
with ``If-None-Match`` gets a 304. Only a photo that a listed product or an active shop
shows is served (``ImageService.shown``): anything else answers 404 — a file
kept for another reason, a hidden product's photo, a name that is not one.
"""

from __future__ import annotations

import re
from typing import cast

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from chatshop.services import Services
from chatshop.services.image_sizes import Variant

CACHE_FOREVER = "public, max-age=31536000, immutable"
PLACEHOLDER = "/static/placeholder.svg"
_NAME = re.compile(r"(?P<sha>[0-9a-f]{64})-(?P<variant>display|thumb|preview)\.jpg")


def image_path(sha256: str, variant: Variant) -> str:
    """The address of one size of a kept photo, from the site's root."""
    return f"/image/{sha256}-{variant}.jpg"


def routes(services: Services) -> list[BaseRoute]:
    """The image route, for ``chatshop.web.app.window_app``."""

    async def image(request: Request) -> Response:
        """One size of a shown photo, cached for good."""
        found = _NAME.fullmatch(request.path_params["name"])
        if found is None:
            raise HTTPException(404)
        sha, variant = found["sha"], cast(Variant, found["variant"])
        headers = {"Cache-Control": CACHE_FOREVER, "ETag": f'"{sha}-{variant}"'}
        if not await services.images.shown(sha):
            raise HTTPException(404)
        if _matches(request.headers.get("if-none-match"), headers["ETag"]):
            return Response(status_code=304, headers=headers)
        data = await services.images.variant(sha, variant)
        if data is None:
            raise HTTPException(404)
        return Response(data, media_type="image/jpeg", headers=headers)

    return [Route("/image/{name}", image, methods=["GET", "HEAD"])]


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names this ETag (weak or strong) or ``*``."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in tags or "*" in tags
