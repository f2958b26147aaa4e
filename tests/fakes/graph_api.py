"""The fake WhatsApp Cloud API, by its old address: ``from tests.fakes.graph_api import
FakeGraphAPI``.

It lives in tests/fakes/whatsapp/ (meta, records, parser, transport, checks, payloads, api);
this module only names what tests import from it."""

from tests.fakes.common import TINY_PNG, ManualTime
from tests.fakes.whatsapp.api import FakeGraphAPI
from tests.fakes.whatsapp.meta import (
    API_VERSION,
    DISPLAY_PHONE_NUMBER,
    GRAPH_URL,
    LOOKASIDE_HOST,
    MEDIA_TYPES,
    META_ERRORS,
    PHONE_NUMBER_ID,
    TOKEN,
    WABA_ID,
    WINDOW_SECONDS,
)
from tests.fakes.whatsapp.records import GraphCall, OutboundMessage, StoredMedia, Template
from tests.fakes.whatsapp.transport import GraphTransport

__all__ = [
    "API_VERSION",
    "DISPLAY_PHONE_NUMBER",
    "GRAPH_URL",
    "LOOKASIDE_HOST",
    "MEDIA_TYPES",
    "META_ERRORS",
    "PHONE_NUMBER_ID",
    "TINY_PNG",
    "TOKEN",
    "WABA_ID",
    "WINDOW_SECONDS",
    "FakeGraphAPI",
    "GraphCall",
    "GraphTransport",
    "ManualTime",
    "OutboundMessage",
    "StoredMedia",
    "Template",
]
