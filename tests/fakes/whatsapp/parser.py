"""How the fake Graph API reads a request: the access token (``Authorization: Bearer`` or
``access_token``), a JSON body, a ``multipart/form-data`` upload."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs

import httpx


def token_of(request: httpx.Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    query = parse_qs(request.url.query.decode("ascii"))
    return query.get("access_token", [None])[-1]


def loads(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None



def parse_multipart(
    content_type: str, body: bytes
) -> tuple[dict[str, str], dict[str, tuple[str | None, bytes, str | None]]]:
    """Fields and files of a ``multipart/form-data`` body."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    form: dict[str, str] = {}
    files: dict[str, tuple[str | None, bytes, str | None]] = {}
    if match is None:
        return form, files
    delimiter = b"--" + match.group(1).encode("latin-1")
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        part = part.removeprefix(b"\r\n")
        head, _, data = part.partition(b"\r\n\r\n")
        data = data.removesuffix(b"\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        params = dict(re.findall(r'(\w+)="([^"]*)"', disposition))
        name = params.get("name")
        if name is None:
            continue
        if "filename" in params or "content-type" in headers:
            files[name] = (params.get("filename"), data, headers.get("content-type"))
        else:
            form[name] = data.decode("utf-8", "replace")
    return form, files
