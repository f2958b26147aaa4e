"""What Meta publishes about the WhatsApp Cloud API that the fake holds to: the test business's
ids, the hosts, the limits of messages and media, and Meta's error codes with their titles,
details and HTTP statuses."""

from __future__ import annotations

API_VERSION = "v21.0"
GRAPH_URL = "https://graph.facebook.com"
LOOKASIDE_HOST = "lookaside.fbsbx.com"
TOKEN = "EAAchatshopTESTtoken"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_PHONE_NUMBER = "33977553311"
WABA_ID = "102290129340398"
ERROR_CODES_URL = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

WINDOW_SECONDS = 24 * 3600
MEDIA_URL_TTL = 300.0

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_BUTTON_BODY = 1024
MAX_LIST_BODY = 4096
MAX_LIST_BUTTON = 20
MAX_SECTIONS = 10
MAX_SECTION_TITLE = 24
MAX_ROWS = 10
MAX_ROW_ID = 200
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_HEADER = 60
MAX_FOOTER = 60

#: Media types and sizes Meta accepts for upload, by message type.
MEDIA_TYPES: dict[str, tuple[frozenset[str], int]] = {
    "image": (frozenset({"image/jpeg", "image/png"}), 5 * 1024 * 1024),
    "document": (
        frozenset(
            {
                "text/plain",
                "application/pdf",
                "application/msword",
                "application/vnd.ms-excel",
                "application/vnd.ms-powerpoint",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            }
        ),
        100 * 1024 * 1024,
    ),
    "audio": (
        frozenset({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}),
        16 * 1024 * 1024,
    ),
    "video": (frozenset({"video/3gpp", "video/mp4"}), 16 * 1024 * 1024),
    "sticker": (frozenset({"image/webp"}), 500 * 1024),
}
MEDIA_MESSAGE_TYPES = tuple(MEDIA_TYPES)
FREE_FORM_TYPES = (*MEDIA_MESSAGE_TYPES, "text", "interactive", "location", "contacts", "reaction")

IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF")

#: Meta's codes: title (the part after "(#code) " in a response), details, HTTP status.
META_ERRORS: dict[int, tuple[str, str, int]] = {
    1: ("An unknown error occurred", "Invalid request or possible server error.", 400),
    2: (
        "Service temporarily unavailable",
        "Temporary due to downtime or due to being overloaded.",
        503,
    ),
    4: ("Application request limit reached", "The app has reached its API call rate limit.", 400),
    100: ("Invalid parameter", "Invalid parameter.", 400),
    190: ("Invalid OAuth access token - Cannot parse access token", "", 401),
    80007: ("Rate limit issues", "The WhatsApp Business Account has reached its rate limit.", 400),
    130429: ("Rate limit hit", "Cloud API message throughput has been reached.", 400),
    131000: ("Something went wrong", "Message failed to send due to an unknown error.", 500),
    131008: ("Required parameter is missing", "A required parameter is missing.", 400),
    131009: ("Parameter value is not valid", "One or more parameter values are invalid.", 400),
    131026: ("Message undeliverable", "Message Undeliverable.", 400),
    131047: (
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last"
        " replied to this number.",
        400,
    ),
    131048: (
        "Spam rate limit hit",
        "Message failed to send because there are restrictions on how many messages can be sent"
        " from this phone number.",
        400,
    ),
    131049: (
        "This message was not delivered to maintain healthy ecosystem engagement.",
        "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
        400,
    ),
    131050: (
        "Unable to deliver the message. This recipient has chosen to stop receiving marketing"
        " messages on WhatsApp from your business.",
        "The recipient has stopped marketing messages from this business.",
        400,
    ),
    131053: ("Media upload error", "Unable to upload the media used in the message.", 400),
    131056: (
        "(Business Account, Consumer Account) pair rate limit hit",
        "Message failed to send because there were too many messages sent from this phone number"
        " to the same phone number in a short period of time.",
        400,
    ),
    132000: (
        "Number of parameters does not match the expected number of params",
        "The number of variable parameter values does not match the template.",
        400,
    ),
    132001: (
        "Template name does not exist in the translation",
        "The template does not exist in the specified language.",
        400,
    ),
    132018: (
        "There was an issue with the parameters in your template.",
        "Param text cannot have new-line/tab characters or more than 4 consecutive spaces.",
        400,
    ),
}
#: Calling codes -> ISO country, for the BSUIDs of test users (longest prefixes first).
COUNTRIES = (
    ("262", "RE"), ("352", "LU"), ("590", "GP"), ("594", "GF"), ("596", "MQ"), ("687", "NC"),
    ("32", "BE"), ("33", "FR"), ("34", "ES"), ("39", "IT"), ("41", "CH"), ("44", "GB"),
    ("49", "DE"), ("1", "US"),
)  # fmt: skip
HTTP_FAULTS = {429: 130429, 500: 131000, 502: 131000, 503: 2, 504: 131000}
