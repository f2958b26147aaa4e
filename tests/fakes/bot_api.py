"""The fake Telegram Bot API, by its old address: ``from tests.fakes.bot_api import FakeBotAPI``.

It lives in tests/fakes/telegram/ (records, parser, transport, api); this module only names
what tests import from it."""

from tests.fakes.common import TINY_PNG, ManualTime
from tests.fakes.telegram.api import FakeBotAPI
from tests.fakes.telegram.methods import MAX_DOWNLOAD_BYTES, MAX_UPLOAD_BYTES
from tests.fakes.telegram.parser import (
    MAX_BUTTONS,
    MAX_CALLBACK_DATA_BYTES,
    MAX_CAPTION,
    MAX_TEXT,
    HtmlParseError,
    parse_html,
)
from tests.fakes.telegram.records import (
    BOT_FIRST_NAME,
    BOT_ID,
    BOT_USERNAME,
    SENDING_PREFIXES,
    FakeCall,
    FakeCallbackAnswer,
    FakeDocument,
    FakeFile,
    FakeMessage,
    FakeUser,
    FakeWebhook,
)
from tests.fakes.telegram.transport import FakeRequest

__all__ = [
    "BOT_FIRST_NAME",
    "BOT_ID",
    "BOT_USERNAME",
    "MAX_BUTTONS",
    "MAX_CALLBACK_DATA_BYTES",
    "MAX_CAPTION",
    "MAX_DOWNLOAD_BYTES",
    "MAX_TEXT",
    "MAX_UPLOAD_BYTES",
    "SENDING_PREFIXES",
    "TINY_PNG",
    "FakeBotAPI",
    "FakeCall",
    "FakeCallbackAnswer",
    "FakeDocument",
    "FakeFile",
    "FakeMessage",
    "FakeRequest",
    "FakeUser",
    "FakeWebhook",
    "HtmlParseError",
    "ManualTime",
    "parse_html",
]
