"""WhatsApp's limits on what a business sends, checked like the Cloud API checks them (reply
buttons, lists, headers and footers, media by id or link, locations, templates), and the
error objects in Graph's shape that the fake answers with.

:class:`MessageChecks` is a base of :class:`~tests.fakes.whatsapp.api.FakeGraphAPI`, which sets
the attributes it reads."""

from __future__ import annotations

import base64
import hashlib
import itertools
import math
import re

from tests.fakes.common import JSON, FakePlatform
from tests.fakes.whatsapp.meta import (
    ERROR_CODES_URL,
    FREE_FORM_TYPES,
    MAX_BUTTON_BODY,
    MAX_BUTTON_ID,
    MAX_BUTTON_TITLE,
    MAX_BUTTONS,
    MAX_CAPTION,
    MAX_FOOTER,
    MAX_HEADER,
    MAX_LIST_BODY,
    MAX_LIST_BUTTON,
    MAX_ROW_DESCRIPTION,
    MAX_ROW_ID,
    MAX_ROW_TITLE,
    MAX_ROWS,
    MAX_SECTION_TITLE,
    MAX_SECTIONS,
    MAX_TEXT,
    MEDIA_MESSAGE_TYPES,
    MEDIA_TYPES,
    META_ERRORS,
)
from tests.fakes.whatsapp.records import (
    PLACEHOLDER,
    GraphError,
    GraphFault,
    StoredMedia,
    Template,
    body_parameters,
    param_text,
)


class MessageChecks(FakePlatform[GraphFault]):
    """The checks of a message before it is accepted, and Graph's error objects."""

    media: dict[str, StoredMedia]
    templates: dict[tuple[str, str], Template]
    _ids: itertools.count[int]

    def _check_message(self, kind: str, body: JSON) -> str | None:
        if kind not in (*FREE_FORM_TYPES, "template"):
            raise self._invalid(
                100,
                "Param type must be one of {AUDIO, CONTACTS, DOCUMENT, IMAGE, INTERACTIVE,"
                f' LOCATION, REACTION, STICKER, TEMPLATE, TEXT, VIDEO}} - got "{kind}".',
            )
        content = body.get(kind)
        if content is None:
            raise self._invalid(100, f"The parameter {kind} is required.")
        if kind == "contacts":
            if not isinstance(content, list) or not content:
                raise self._invalid(100, "Param contacts must be a non-empty array")
            for card in content:
                card_name = card.get("name") if isinstance(card, dict) else None
                if not isinstance(card_name, dict) or not card_name.get("formatted_name"):
                    raise self._invalid(
                        131008,
                        META_ERRORS[131008][0],
                        "contacts[].name.formatted_name is required",
                    )
            return None
        if not isinstance(content, dict):
            raise self._invalid(100, f"Param {kind} must be a JSON object")
        if kind == "text":
            text = content.get("body")
            if not isinstance(text, str) or not text.strip():
                raise self._invalid(100, "The parameter text['body'] is required.")
            if len(text) > MAX_TEXT:
                raise self._invalid(
                    100, f"Param text['body'] must be at most {MAX_TEXT} characters long."
                )
        elif kind in MEDIA_MESSAGE_TYPES:
            self._check_media(kind, content)
        elif kind == "interactive":
            self._check_interactive(content)
        elif kind == "location":
            self._check_location(content)
        elif kind == "reaction":
            if not content.get("message_id"):
                raise self._invalid(100, "The parameter reaction['message_id'] is required.")
        elif kind == "template":
            return self._check_template(content)
        return None

    def _check_media(self, kind: str, content: JSON) -> None:
        has_id, has_link = bool(content.get("id")), bool(content.get("link"))
        if has_id == has_link:
            raise self._invalid(
                131008 if not has_id else 131009,
                "Required parameter is missing" if not has_id else "Parameter value is not valid",
                f"{kind} must have either an id or a link, not both",
            )
        if has_id:
            media = self.media.get(str(content["id"]))
            if media is None or media.origin != "upload":
                raise self._invalid(
                    100,
                    "Invalid parameter",
                    f"Param {kind}['id'] is not a valid whatsapp business account media"
                    " attachment ID",
                )
            allowed, _ = MEDIA_TYPES[kind]
            if media.mime_type not in allowed:
                raise self._invalid(
                    131053,
                    "Media upload error",
                    f"media of type {media.mime_type} cannot be sent as {kind}",
                )
        elif not re.match(r"https?://[^\s/]+\.[^\s]+", str(content["link"])):
            raise self._invalid(131009, "Parameter value is not valid", "Invalid media link")
        caption = content.get("caption")
        if caption is not None:
            if kind not in ("image", "document", "video"):
                raise self._invalid(100, f"Param {kind}['caption'] is not allowed")
            if len(str(caption)) > MAX_CAPTION:
                raise self._invalid(
                    100, f"Param {kind}['caption'] must be at most {MAX_CAPTION} characters long."
                )

    def _check_interactive(self, content: JSON) -> None:
        kind = content.get("type")
        if kind not in ("button", "list", "cta_url"):
            raise self._invalid(
                100,
                "Invalid parameter",
                f"the fake Graph API does not implement interactive type {kind!r}",
            )
        action = content.get("action")
        if not isinstance(action, dict):
            raise self._invalid(100, "The parameter interactive['action'] is required.")
        body = (content.get("body") or {}).get("text")
        limit = MAX_LIST_BODY if kind == "list" else MAX_BUTTON_BODY
        optional = kind == "cta_url" and "body" not in content
        if not optional and (not isinstance(body, str) or not 1 <= len(body) <= limit):
            if body is None:
                raise self._invalid(100, "The parameter interactive['body']['text'] is required.")
            raise self._limit(f"Body text length invalid. Min length: 1, Max length: {limit}")
        self._check_header_footer(content, text_header_only=kind != "button")
        if kind == "button":
            self._check_buttons(action.get("buttons"))
        elif kind == "list":
            self._check_list(action)
        else:
            params = action.get("parameters") or {}
            if action.get("name") != "cta_url":
                raise self._invalid(100, "Param interactive['action']['name'] must be cta_url")
            text = params.get("display_text")
            if not isinstance(text, str) or not 1 <= len(text) <= MAX_BUTTON_TITLE:
                raise self._limit(
                    f"Display text length invalid. Min length: 1, Max length: {MAX_BUTTON_TITLE}"
                )
            if not re.match(r"https?://\S+$", str(params.get("url", ""))):
                raise self._limit("Invalid URL")

    def _check_header_footer(self, content: JSON, *, text_header_only: bool) -> None:
        header = content.get("header")
        if header is not None:
            kind = header.get("type") if isinstance(header, dict) else None
            if kind == "text":
                text = header.get("text")
                if not isinstance(text, str) or not 1 <= len(text) <= MAX_HEADER:
                    raise self._limit(
                        f"Header text length invalid. Min length: 1, Max length: {MAX_HEADER}"
                    )
            elif kind in ("image", "video", "document") and not text_header_only:
                self._check_media(kind, header.get(kind) or {})
            else:
                raise self._limit(f"Header type {kind!r} is not supported for this message")
        footer = content.get("footer")
        if footer is not None:
            text = footer.get("text") if isinstance(footer, dict) else None
            if not isinstance(text, str) or not 1 <= len(text) <= MAX_FOOTER:
                raise self._limit(
                    f"Footer text length invalid. Min length: 1, Max length: {MAX_FOOTER}"
                )

    def _check_buttons(self, buttons: object) -> None:
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
            raise self._limit(
                f"Invalid buttons count. Min allowed buttons: 1, Max allowed buttons: {MAX_BUTTONS}"
            )
        ids: set[str] = set()
        titles: set[str] = set()
        for button in buttons:
            reply = button.get("reply") if isinstance(button, dict) else None
            if button.get("type") != "reply" or not isinstance(reply, dict):
                raise self._invalid(
                    100, "Invalid parameter", "buttons must be of type reply with a reply object"
                )
            button_id, title = reply.get("id"), reply.get("title")
            if not isinstance(title, str) or not 1 <= len(title) <= MAX_BUTTON_TITLE:
                raise self._limit(
                    f"Button title length invalid. Min length: 1, Max length: {MAX_BUTTON_TITLE}"
                )
            if not isinstance(button_id, str) or not 1 <= len(button_id) <= MAX_BUTTON_ID:
                raise self._limit(
                    f"Button id length invalid. Min length: 1, Max length: {MAX_BUTTON_ID}"
                )
            if button_id != button_id.strip():
                raise self._limit("Button id cannot have leading or trailing spaces")
            if button_id in ids:
                raise self._limit(f"Button ids must be unique, duplicate: {button_id}")
            if title in titles:
                raise self._limit(f"Button titles must be unique, duplicate: {title}")
            ids.add(button_id)
            titles.add(title)

    def _check_list(self, action: JSON) -> None:
        button = action.get("button")
        if not isinstance(button, str) or not 1 <= len(button) <= MAX_LIST_BUTTON:
            raise self._limit(
                f"Button text length invalid. Min length: 1, Max length: {MAX_LIST_BUTTON}"
            )
        sections = action.get("sections")
        if not isinstance(sections, list) or not 1 <= len(sections) <= MAX_SECTIONS:
            raise self._limit(
                f"Invalid sections count. Min allowed sections: 1, Max allowed sections:"
                f" {MAX_SECTIONS}"
            )
        rows = [row for s in sections if isinstance(s, dict) for row in s.get("rows") or []]
        if len(rows) > MAX_ROWS:
            raise self._limit(f"Total row count exceed max allowed count: {MAX_ROWS}")
        ids: set[str] = set()
        for section in sections:
            if not isinstance(section, dict):
                raise self._invalid(100, "Param sections[] must be JSON objects")
            title = section.get("title")
            if title is None and len(sections) > 1:
                raise self._limit("Section title is required when there is more than one section")
            if title is not None and (not isinstance(title, str) or len(title) > MAX_SECTION_TITLE):
                raise self._limit(f"Section title is too long. Max length is {MAX_SECTION_TITLE}")
            if not section.get("rows"):
                raise self._limit("Each section must have at least one row")
            for row in section["rows"]:
                row_id, row_title = row.get("id"), row.get("title")
                description = row.get("description")
                if not isinstance(row_title, str) or not row_title:
                    raise self._invalid(100, "The parameter rows[]['title'] is required.")
                if len(row_title) > MAX_ROW_TITLE:
                    raise self._limit(f"Row title is too long. Max length is {MAX_ROW_TITLE}")
                if description is not None and len(str(description)) > MAX_ROW_DESCRIPTION:
                    raise self._limit(
                        f"Row description is too long. Max length is {MAX_ROW_DESCRIPTION}"
                    )
                if not isinstance(row_id, str) or not 1 <= len(row_id) <= MAX_ROW_ID:
                    raise self._limit(
                        f"Row id length invalid. Min length: 1, Max length: {MAX_ROW_ID}"
                    )
                if row_id in ids:
                    raise self._limit(f"Row ids must be unique, duplicate: {row_id}")
                ids.add(row_id)

    def _check_location(self, content: JSON) -> None:
        for name, bound in (("latitude", 90.0), ("longitude", 180.0)):
            if name not in content:
                raise self._invalid(100, f"The parameter location['{name}'] is required.")
            try:
                value = float(content[name])
            except (TypeError, ValueError):
                raise self._invalid(100, f"Param location['{name}'] must be a number") from None
            if not math.isfinite(value) or not -bound <= value <= bound:
                raise self._invalid(131009, META_ERRORS[131009][0], f"Invalid {name}")

    def _check_template(self, content: JSON) -> str | None:
        name = content.get("name")
        language = (content.get("language") or {}).get("code")
        if not name:
            raise self._invalid(100, "The parameter template['name'] is required.")
        if not language:
            raise self._invalid(100, "The parameter template['language']['code'] is required.")
        params = body_parameters(content)
        for param in params:
            text = param_text(param)
            if re.search(r"[\n\t]| {5,}", text):
                raise self._invalid(
                    132018,
                    META_ERRORS[132018][0],
                    "Param text cannot have new-line/tab characters or more than 4 consecutive"
                    " spaces",
                )
        if not self.templates:
            return None
        template = self.templates.get((name, language))
        if template is None:
            raise self._invalid(
                132001,
                META_ERRORS[132001][0],
                f"template name ({name}) does not exist in {language}",
            )
        if template.body is None:
            return None
        expected = template.placeholders
        if len(params) != len(expected):
            raise self._invalid(
                132000,
                META_ERRORS[132000][0],
                f"body: number of localizable_params ({len(params)}) does not match the"
                f" expected number of params ({len(expected)})",
            )
        if all(p.isdigit() for p in expected):
            values = {str(i + 1): param_text(p) for i, p in enumerate(params)}
        else:
            values = {
                str(p.get("parameter_name")): param_text(p) for p in params if isinstance(p, dict)
            }
        return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template.body)

    # ---------------------------------------------------------------- errors

    def _error(
        self,
        code: int,
        message: str | None = None,
        details: str | None = None,
        *,
        error_type: str = "OAuthException",
        subcode: int | None = None,
    ) -> JSON:
        title, default_details, _ = META_ERRORS.get(code, ("Error", "", 400))
        error: JSON = {
            "message": f"(#{code}) {message or title}" if code != 190 else (message or title),
            "type": error_type,
            "code": code,
        }
        details = default_details if details is None else details
        if details and code != 190:
            error["error_data"] = {"messaging_product": "whatsapp", "details": details}
        if subcode is not None:
            error["error_subcode"] = subcode
        error["fbtrace_id"] = "A" + base64.b64encode(
            hashlib.sha256(str(next(self._ids)).encode()).digest()[:15]
        ).decode().replace("+", "-").replace("/", "_")
        return error

    def _invalid(self, code: int, message: str, details: str | None = None) -> GraphError:
        status = META_ERRORS.get(code, ("", "", 400))[2]
        return GraphError(status, self._error(code, message, details or message), rejection=True)

    def _limit(self, details: str) -> GraphError:
        return self._invalid(131009, META_ERRORS[131009][0], details)

    def _unknown_object(self, method: str, object_id: str) -> JSON:
        error = self._error(
            100,
            f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot"
            " be loaded due to missing permissions, or does not support this operation. Please"
            " read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
            "",
            error_type="GraphMethodException",
            subcode=33,
        )
        error["message"] = error["message"].removeprefix("(#100) ")
        return error



def status_error(error: JSON | int) -> JSON:
    """A complete error object of a status callback (``{"code": 131047}`` is enough)."""
    if isinstance(error, int):
        error = {"code": error}
    code = int(error["code"])
    title, details, _ = META_ERRORS.get(code, ("Error", "", 400))
    full: JSON = {
        "code": code,
        "title": error.get("title", title),
        "message": error.get("message", error.get("title", title)),
        "error_data": error.get("error_data", {"details": details}),
        "href": error.get("href", ERROR_CODES_URL),
    }
    return full

