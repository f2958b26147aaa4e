"""How the fake Bot API reads what a bot sends, the way Telegram reads it: the HTML parse mode
(unknown or unbalanced tags refused with Telegram's wording, entities in UTF-16 offsets),
texts and captions within their lengths, reply markups and their buttons (callback_data in
bytes, one action per button, usable URLs), locations; and the bot_command entities of what a
user types."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from urllib.parse import urlsplit

from tests.fakes.common import JSON, copy_json
from tests.fakes.telegram.errors import bad
from tests.fakes.telegram.records import INLINE_ACTIONS, reply_button_text

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_BUTTONS = 100

_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")

def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2



class HtmlParseError(ValueError):
    """Telegram's "can't parse entities" (the message is the part after the colon)."""


_HTML_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
        "tg-spoiler", "tg-emoji", "code", "pre", "blockquote",
    }
)  # fmt: skip
_HTML_SPACE = " \t\r\n\x0b\x0c"
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_SIMPLE_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}


def _decode_html_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode ``&...;`` at ``pos`` like Telegram: the five named ones and numeric ones only."""
    end = pos + 1
    if text.startswith("#", end):
        end += 1
        hexadecimal = text.startswith("x", end)
        if hexadecimal:
            end += 1
        start = end
        digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        while end < len(text) and text[end] in digits:
            end += 1
        if end == start or end - pos >= 10:
            return None
        code = int(text[start:end], 16 if hexadecimal else 10)
        if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        char = chr(code)
    else:
        while end < len(text) and text[end].isascii() and text[end].isalpha():
            end += 1
        name = text[pos + 1 : end]
        if name not in _HTML_NAMED:
            return None
        char = _HTML_NAMED[name]
    if text.startswith(";", end):
        end += 1
    return char, end


def parse_html(text: str) -> tuple[str, list[JSON]]:
    """Parse ``parse_mode="HTML"`` text into plain text and entities (UTF-16 offsets).

    Raises :class:`HtmlParseError` with Telegram's wording ("Unsupported start tag "br" at byte
    offset 5", "Can't find end tag corresponding to start tag "b"", ...).
    """

    if "<" not in text and "&" not in text:
        return text, []  # plain text: nothing to parse

    def byte_offset(index: int) -> int:
        return len(text[:index].encode("utf-8"))

    out: list[str] = []
    utf16 = 0
    entities: list[JSON] = []
    open_tags: list[tuple[str, str, int, int]] = []  # tag, argument, utf16 start, out index
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            decoded = _decode_html_entity(text, i)
            if decoded is not None:
                out.append(decoded[0])
                utf16 += utf16_len(decoded[0])
                i = decoded[1]
                continue
        if char != "<":
            out.append(char)
            utf16 += utf16_len(char)
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            if not open_tags:
                raise HtmlParseError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
            i += 1
            name_start = i
            while i < n and text[i] not in _HTML_SPACE and text[i] != ">":
                i += 1
            end_name = text[name_start:i].lower()
            while i < n and text[i] in _HTML_SPACE:
                i += 1
            if i >= n or text[i] != ">":
                raise HtmlParseError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
            tag, argument, start, out_index = open_tags.pop()
            if end_name and end_name != tag:
                raise HtmlParseError(
                    f"Unmatched end tag at byte offset {byte_offset(begin)},"
                    f' expected "</{tag}>", found "</{end_name}>"'
                )
            if utf16 > start:
                entity = _html_entity(tag, argument, start, utf16 - start, "".join(out[out_index:]))
                if entity is not None:
                    entities.append(entity)
            i += 1
            continue
        name_start = i
        while i < n and text[i] not in _HTML_SPACE and text[i] != ">":
            i += 1
        if i >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
        tag = text[name_start:i].lower()
        if tag not in _HTML_TAGS:
            raise HtmlParseError(
                f'Unsupported start tag "{tag}" at byte offset {byte_offset(begin)}'
            )
        argument, i = _html_attributes(text, i, tag, begin, byte_offset)
        if tag == "span" and argument != "spoiler":
            raise HtmlParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
            )
        open_tags.append((tag, argument, utf16, len(out)))
        i += 1
    if open_tags:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _html_attributes(
    text: str, i: int, tag: str, begin: int, byte_offset: Callable[[int], int]
) -> tuple[str, int]:
    """Read the attributes of a start tag from ``i``; return (argument, index of ``>``)."""
    n = len(text)
    argument = ""
    while True:
        while i < n and text[i] in _HTML_SPACE:
            i += 1
        if i >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
        if text[i] == ">":
            return argument, i
        name_start = i
        while i < n and text[i] not in _HTML_SPACE and text[i] not in "=>":
            i += 1
        name = text[name_start:i].lower()
        if not name:
            raise HtmlParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {byte_offset(name_start)}'
            )
        while i < n and text[i] in _HTML_SPACE:
            i += 1
        if tag == "blockquote" and name == "expandable" and (i >= n or text[i] != "="):
            argument = "expandable"
            continue
        if i >= n or text[i] != "=":
            raise HtmlParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}"'
                f" at byte offset {byte_offset(name_start)}"
            )
        i += 1
        while i < n and text[i] in _HTML_SPACE:
            i += 1
        if i >= n:
            raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}')
        value: list[str] = []
        if text[i] in "'\"":
            quote = text[i]
            i += 1
            while i < n and text[i] != quote:
                decoded = _decode_html_entity(text, i) if text[i] == "&" else None
                if decoded is not None:
                    value.append(decoded[0])
                    i = decoded[1]
                else:
                    value.append(text[i])
                    i += 1
            if i < n:
                i += 1
        else:
            token_start = i
            while i < n and ((text[i].isascii() and text[i].isalnum()) or text[i] in ".-"):
                i += 1
            value.append(text[token_start:i].lower())
            if i < n and text[i] not in _HTML_SPACE and text[i] != ">":
                raise HtmlParseError(
                    f"Unexpected end of name token at byte offset {byte_offset(token_start)}"
                )
        if i >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
        joined = "".join(value)
        if (tag == "a" and name == "href") or (tag == "tg-emoji" and name == "emoji-id"):
            argument = joined
        elif tag == "code" and name == "class" and joined.startswith("language-"):
            argument = joined.removeprefix("language-")
        elif tag == "span" and name == "class" and joined.startswith("tg-"):
            argument = joined.removeprefix("tg-")


def _html_entity(tag: str, argument: str, offset: int, length: int, content: str) -> JSON | None:
    entity: JSON = {"offset": offset, "length": length}
    if tag in _SIMPLE_ENTITY:
        entity["type"] = _SIMPLE_ENTITY[tag]
    elif tag == "a":
        url = argument or content
        if not re.match(r"(https?|tg)://\S+", url) and not re.fullmatch(r"[\w.-]+\.\w+\S*", url):
            return None  # Telegram silently drops links it cannot use
        entity.update(type="text_link", url=url)
    elif tag == "code":
        entity["type"] = "pre" if argument else "code"
        if argument:
            entity["language"] = argument
    elif tag == "pre":
        entity["type"] = "pre"
    elif tag == "blockquote":
        entity["type"] = "expandable_blockquote" if argument == "expandable" else "blockquote"
    elif tag == "tg-emoji":
        if not argument.isdigit():
            raise HtmlParseError("Invalid custom emoji identifier specified")
        entity.update(type="custom_emoji", custom_emoji_id=argument)
    return entity


def trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Telegram trims whitespace around a text; entities follow the text they cover."""
    lead = utf16_len(text[: len(text) - len(text.lstrip(_HTML_SPACE))])
    trimmed = text.strip(_HTML_SPACE)
    total = utf16_len(trimmed)
    kept: list[JSON] = []
    for entity in entities:
        start = max(int(entity.get("offset", 0)) - lead, 0)
        end = min(int(entity.get("offset", 0)) + int(entity.get("length", 0)) - lead, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return trimmed, kept


def command_entities(text: str) -> list[JSON]:
    """bot_command entities of a text a user types (``/start p_12``)."""
    entities: list[JSON] = []
    for match in re.finditer(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?", text):
        entities.append(
            {
                "type": "bot_command",
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(match.group()),
            }
        )
    return entities



def looks_like_image(data: bytes) -> bool:
    if data.startswith(_IMAGE_MAGIC):
        return True
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def check_location(params: JSON) -> JSON:
    location: JSON = {}
    for name, bound in (("latitude", 90.0), ("longitude", 180.0)):
        if name not in params:
            raise bad(f'can\'t find field "{name}"')
        try:
            value = float(params[name])
        except (TypeError, ValueError):
            raise bad(f'field "{name}" must be a valid Number') from None
        if not -bound <= value <= bound:
            raise bad(f"wrong {name}")
        location[name] = value
    return location


def format_text(
    raw: object, parse_mode: object, entities: object, *, caption: bool
) -> tuple[str | None, list[JSON]]:
    """Text or caption after entity parsing and trimming, within Telegram's lengths."""
    if raw is None or raw == "":
        if caption:
            return None, []
        raise bad("message text is empty")
    text = str(raw)
    if parse_mode:
        mode = str(parse_mode).lower()
        if mode == "html":
            try:
                text, parsed = parse_html(text)
            except HtmlParseError as error:
                raise bad(f"can't parse entities: {error}") from None
        elif mode in ("markdown", "markdownv2"):
            raise bad(f"the fake Bot API does not implement parse_mode {parse_mode}; use HTML")
        else:
            raise bad("unsupported parse_mode")
    else:
        parsed = [dict(e) for e in entities] if isinstance(entities, list) else []
    text, parsed = trim(text, parsed)
    if not text:
        if caption:
            return None, []
        raise bad("text must be non-empty")
    if caption and len(text) > MAX_CAPTION:
        raise bad("message caption is too long")
    if not caption and len(text) > MAX_TEXT:
        raise bad("message is too long")
    return text, parsed


def check_markup(markup: object, *, inline_only: bool = False) -> JSON | None:
    """Validate a reply_markup like Telegram; return it (a copy) or None."""
    if markup is None:
        return None
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            raise bad("can't parse reply keyboard markup JSON object") from None
    if not isinstance(markup, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        _check_inline_keyboard(markup["inline_keyboard"])
    elif inline_only:
        raise bad("inline keyboard expected")
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad('field "keyboard" must be of type Array')
        for row in rows:
            for button in row:
                if isinstance(button, dict) and "text" not in button:
                    raise bad("can't parse keyboard button: Can't find field \"text\"")
                if not reply_button_text(button).strip():
                    raise bad("BUTTON_TEXT_INVALID")
    elif not (markup.get("remove_keyboard") or markup.get("force_reply")):
        raise bad("can't parse reply keyboard markup JSON object")
    return copy_json(markup)


def _check_inline_keyboard(rows: object) -> None:
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad('field "inline_keyboard" must be of type Array')
    count = 0
    for row in rows:
        for button in row:
            count += 1
            _check_inline_button(button)
    if count > MAX_BUTTONS:
        raise bad("reply markup is too long")


def _check_inline_button(button: object) -> None:
    prefix = "can't parse inline keyboard button: "
    if not isinstance(button, dict):
        raise bad(prefix + "InlineKeyboardButton must be an Object")
    if "text" not in button:
        raise bad(prefix + 'Can\'t find field "text"')
    if not isinstance(button["text"], str):
        raise bad(prefix + 'Field "text" must be of type String')
    if not button["text"].strip():
        raise bad("BUTTON_TEXT_INVALID")
    actions = [a for a in INLINE_ACTIONS if button.get(a) not in (None, "", False)]
    if not actions:
        raise bad(prefix + "Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        # Telegram silently keeps one of them; the fake is stricter so the mistake shows.
        raise bad(prefix + f"the fake Bot API wants exactly one action, got {', '.join(actions)}")
    if "callback_data" in actions:
        data = button["callback_data"]
        if not isinstance(data, str) or len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
            raise bad("BUTTON_DATA_INVALID")
    if "url" in actions:
        _check_button_url(str(button["url"]))


def _check_button_url(url: str) -> None:
    parts = urlsplit(url if "://" in url else "http://" + url)
    if parts.scheme not in ("http", "https", "tg"):
        raise bad(f"inline keyboard button URL '{url}' is invalid: Unsupported URL protocol")
    host = parts.hostname or ""
    if parts.scheme != "tg" and "." not in host and host != "localhost":
        raise bad(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")

