"""The HTTP layer: an ``httpx`` transport answering with a :class:`FakeGraphAPI`, so that a
channel's client reaches the fake in process at any base URL."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from tests.fakes.whatsapp.api import FakeGraphAPI


class GraphTransport(httpx.MockTransport):
    """An ``httpx.MockTransport`` answering with a :class:`FakeGraphAPI`; works with
    ``httpx.AsyncClient`` (yielding to the event loop, plus the API's latency) and
    ``httpx.Client``."""

    def __init__(self, api: FakeGraphAPI) -> None:
        super().__init__(api.handle)
        self.api = api

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        await asyncio.sleep(self.api.latency if self.api.latency > 0 else 0)
        return self.api.handle(request)



def json_response(status: int, body: object) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=UTF-8"},
    )

