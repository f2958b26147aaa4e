"""Read receipts and media of the fake Graph API: ``status: "read"`` on an inbound message,
uploads (``POST /{phone_number_id}/media``, Meta's types and sizes only), media URLs on
``lookaside.fbsbx.com`` valid five minutes, their download, and the media the fake stores.

:class:`MediaEndpoints` is a base of :class:`~tests.fakes.whatsapp.api.FakeGraphAPI`."""

from __future__ import annotations

import hashlib
from typing import Literal
from urllib.parse import urlencode

import httpx

from tests.fakes.common import JSON
from tests.fakes.whatsapp.meta import (
    IMAGE_MAGIC,
    LOOKASIDE_HOST,
    MEDIA_TYPES,
    MEDIA_URL_TTL,
    META_ERRORS,
)
from tests.fakes.whatsapp.payloads import WebhookPayloads
from tests.fakes.whatsapp.records import GraphCall, GraphError, StoredMedia


class MediaEndpoints(WebhookPayloads):
    """The read receipts and media endpoints, and the store of media."""

    read_receipts: list[str]
    _media_urls: dict[str, tuple[str, float]]

    def _mark_read(self, call: GraphCall) -> JSON:
        body = call.json if isinstance(call.json, dict) else {}
        if body.get("messaging_product") != "whatsapp":
            raise self._invalid(100, "The parameter messaging_product is required.")
        if body.get("status") != "read":
            raise self._invalid(100, "Param status must be one of {READ}")
        message_id = body.get("message_id")
        if not message_id:
            raise self._invalid(100, "The parameter message_id is required.")
        if not any(m["id"] == message_id for m in self.inbound):
            raise self._invalid(100, "Invalid parameter", f"Unknown message id {message_id}")
        self.read_receipts.append(str(message_id))
        return {"success": True}

    def _upload(self, call: GraphCall) -> JSON:
        if call.form.get("messaging_product") != "whatsapp":
            raise self._invalid(100, "The parameter messaging_product is required.")
        if "file" not in call.files:
            raise self._invalid(100, "The parameter file is required.")
        filename, data, part_type = call.files["file"]
        mime_type = (call.form.get("type") or part_type or "").split(";")[0].strip()
        kind = next((k for k, (types, _) in MEDIA_TYPES.items() if mime_type in types), None)
        if kind is None:
            supported = ", ".join(sorted(t for types, _ in MEDIA_TYPES.values() for t in types))
            raise self._invalid(
                100,
                f"Param file must be a file with one of the following types: {supported}."
                f" Received file of type '{mime_type}'.",
            )
        if not data:
            raise self._invalid(131053, META_ERRORS[131053][0], "The uploaded file is empty")
        limit = MEDIA_TYPES[kind][1]
        if len(data) > limit:
            raise self._invalid(
                131053, META_ERRORS[131053][0], f"{kind} files are limited to {limit} bytes"
            )
        if kind == "image" and not data.startswith(IMAGE_MAGIC):
            raise self._invalid(
                131053, META_ERRORS[131053][0], "The uploaded file is not a valid image"
            )
        media = self._store_media(data, mime_type, "upload", filename)
        return {"id": media.id}

    def _media_url(self, call: GraphCall, media_id: str) -> JSON:
        media = self.media.get(media_id)
        if media is None:
            raise GraphError(400, self._unknown_object("get", media_id))
        wanted = call.form.get("phone_number_id")
        if wanted is not None and wanted != self.phone_number_id:
            raise self._invalid(100, "Invalid parameter", "phone_number_id does not match")
        issued = self.now()
        key = hashlib.sha256(f"{media_id}:{next(self._ids)}".encode()).hexdigest()[:24]
        url = f"https://{LOOKASIDE_HOST}/whatsapp_business/attachments/?" + urlencode(
            {"mid": media_id, "ext": int(issued), "hash": key}
        )
        self._media_urls[key] = (media_id, issued)
        return {
            "url": url,
            "mime_type": media.mime_type,
            "sha256": media.sha256,
            "file_size": len(media.data),
            "id": media.id,
            "messaging_product": "whatsapp",
        }

    def _download(self, call: GraphCall, request: httpx.Request) -> httpx.Response:
        key = call.form.get("hash", "")
        found = self._media_urls.get(key)
        media = self.media.get(found[0]) if found else None
        if found is None or media is None or self.now() - found[1] > MEDIA_URL_TTL:
            raise GraphError(404, self._error(100, "URL signature expired or invalid"))
        headers = {"Content-Type": media.mime_type, "Content-Length": str(len(media.data))}
        if media.filename:
            headers["Content-Disposition"] = f'inline;filename="{media.filename}"'
        call.status, call.outcome = 200, "ok"
        return httpx.Response(200, content=media.data, headers=headers)

    def _store_media(
        self,
        data: bytes,
        mime_type: str,
        origin: Literal["upload", "inbound"],
        filename: str | None = None,
    ) -> StoredMedia:
        media_id = str(1_000_000_000_000_000 + next(self._ids) * 7919)
        media = StoredMedia(media_id, bytes(data), mime_type, origin, filename)
        self.media[media_id] = media
        return media
