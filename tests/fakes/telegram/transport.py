"""The HTTP layer python-telegram-bot talks to: :class:`FakeRequest`, a
``telegram.request.BaseRequest`` handing every request to a :class:`FakeBotAPI` in process (the
way python-telegram-bot's own test suite replaces its HTTP layer), and how the fake reads a Bot
API URL and its uploaded files."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from telegram.request import BaseRequest, RequestData

if TYPE_CHECKING:
    from telegram._utils.types import ODVInput

    from tests.fakes.telegram.api import FakeBotAPI

class FakeRequest(BaseRequest):
    """A ``BaseRequest`` that hands every request to a :class:`FakeBotAPI`, in process."""

    __slots__ = ("_api", "_closed", "_read_timeout")

    def __init__(self, api: FakeBotAPI, read_timeout: float | None = 5.0) -> None:
        self._api = api
        self._read_timeout = read_timeout
        self._closed = False

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        self._closed = False

    async def shutdown(self) -> None:
        self._closed = True

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._closed:
            # Like HTTPXRequest once shut down (python-telegram-bot wraps it in NetworkError).
            raise RuntimeError("This FakeRequest is not initialized!")
        effective = self._read_timeout if read_timeout is BaseRequest.DEFAULT_NONE else read_timeout
        return await self._api.serve(
            url, method, request_data, effective if isinstance(effective, int | float) else None
        )


def parse_url(url: str) -> tuple[str | None, str, str | None]:
    """(token, API method, file path) of a Bot API URL; file path only for file downloads."""
    path = unquote(urlsplit(url).path)
    download = re.search(r"/file/bot([^/]+)/(.+)$", path)
    if download:
        return download.group(1), "download", download.group(2)
    call = re.search(r"/bot([^/]+)/([^/]+)$", path)
    if call:
        return call.group(1), call.group(2), None
    return None, path.rstrip("/").rsplit("/", 1)[-1], None


def uploaded_files(request_data: RequestData | None) -> dict[str, tuple[str, bytes, str]]:
    if request_data is None or not request_data.contains_files:
        return {}
    files: dict[str, tuple[str, bytes, str]] = {}
    for name, (file_name, content, mime_type) in request_data.multipart_data.items():
        data = content if isinstance(content, bytes) else content.read()
        files[name] = (file_name, bytes(data), mime_type)
    return files

