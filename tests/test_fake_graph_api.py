"""The fake WhatsApp Cloud API, seen through a plain ``httpx.AsyncClient`` (the way the channel
talks to it) and, when it is installed, through pywa's async client."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.fakes.graph_api import (
    TINY_PNG,
    TOKEN,
    FakeGraphAPI,
    ManualTime,
    Template,
)

MARIE = "33612345678"
PAUL = "33698765432"
APP_SECRET = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def wall() -> ManualTime:
    return ManualTime(1_780_000_000.0)


@pytest.fixture
def ticks() -> ManualTime:
    return ManualTime(1000.0)


@pytest.fixture
def api(wall: ManualTime, ticks: ManualTime) -> FakeGraphAPI:
    return FakeGraphAPI(wall_clock=wall, clock=ticks)


@pytest.fixture
async def graph(api: FakeGraphAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=api.transport(),
        base_url="https://graph.facebook.com/v21.0",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield client


async def send(
    graph: httpx.AsyncClient, api: FakeGraphAPI, to: str, **message: Any
) -> httpx.Response:
    body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, **message}
    return await graph.post(f"/{api.phone_number_id}/messages", json=body)


def text(body: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": body}}


def buttons(*pairs: tuple[str, str], body: str = "Que voulez-vous faire ?") -> dict[str, Any]:
    return {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": body},
            "action": {
                "buttons": [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in pairs]
            },
        },
    }


def listing(
    *rows: tuple[str, str, str | None],
    button: str = "Voir les produits",
    section: str | None = "Boulangerie",
    body: str = "Nos produits du jour",
) -> dict[str, Any]:
    section_json: dict[str, Any] = {
        "rows": [
            {"id": i, "title": t, **({"description": d} if d is not None else {})}
            for i, t, d in rows
        ]
    }
    if section is not None:
        section_json["title"] = section
    return {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": body},
            "action": {"button": button, "sections": [section_json]},
        },
    }


def template(name: str, *params: str, language: str = "fr") -> dict[str, Any]:
    components = [{"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}]
    return {
        "type": "template",
        "template": {"name": name, "language": {"code": language}, "components": components},
    }


def error_of(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    assert {"message", "type", "code", "fbtrace_id"} <= error.keys()
    return error


def value_of(payload: dict[str, Any]) -> dict[str, Any]:
    assert payload["object"] == "whatsapp_business_account"
    [entry] = payload["entry"]
    [change] = entry["changes"]
    assert change["field"] == "messages"
    value: dict[str, Any] = change["value"]
    return value


# --------------------------------------------------------------------------------------------
# Sending


async def test_text_buttons_and_list_are_answered_like_meta_and_seen_by_the_user(
    api: FakeGraphAPI, graph: httpx.AsyncClient
) -> None:
    api.text(MARIE, "Marie", "Bonjour")

    answer = await send(graph, api, "+33 6 12 34 56 78", **text("Bonjour Marie !"))
    assert answer.status_code == 200
    reply = answer.json()
    assert reply["messaging_product"] == "whatsapp"
    assert reply["contacts"] == [{"input": "+33 6 12 34 56 78", "wa_id": MARIE}]
    assert reply["messages"][0]["id"].startswith("wamid.")

    await send(graph, api, MARIE, **buttons(("p_12", "Réserver"), ("more", "Voir plus")))
    await send(graph, api, MARIE, **listing(("p_1", "Baguette", "1,20 €"), ("p_2", "Pain", None)))

    seen = api.messages_to(MARIE)
    assert [m.type for m in seen] == ["text", "interactive", "interactive"]
    assert seen[0].text == "Bonjour Marie !"
    assert seen[1].buttons == [("p_12", "Réserver"), ("more", "Voir plus")]
    assert seen[1].text == "Que voulez-vous faire ?"
    assert seen[2].rows == [("p_1", "Baguette", "1,20 €"), ("p_2", "Pain", None)]
    assert seen[2].list_button == "Voir les produits"
    assert seen[2].titles == ["Baguette", "Pain"]
    assert len({m.id for m in seen}) == 3
    assert api.last(MARIE) is seen[2]
    assert [c.operation for c in api.sent] == ["send"] * 3
    assert api.sent[0].json["text"] == {"body": "Bonjour Marie !"}


async def test_limits_at_their_bounds_are_accepted(
    api: FakeGraphAPI, graph: httpx.AsyncClient
) -> None:
    api.user_wrote(MARIE)
    three = [("a" * 256, "x" * 20), ("b", "y" * 20), ("c", "z")]
    assert (await send(graph, api, MARIE, **buttons(*three, body="é" * 1024))).status_code == 200
    rows: list[tuple[str, str, str | None]] = [(f"r{i}", "t" * 24, "d" * 72) for i in range(10)]
    rows[0] = ("i" * 200, "t" * 24, None)
    answer = await send(graph, api, MARIE, **listing(*rows, button="b" * 20, section="s" * 24))
    assert answer.status_code == 200
    assert (await send(graph, api, MARIE, **text("x" * 4096))).status_code == 200
    assert len(api.messages_to(MARIE)) == 3
    assert api.rejections == []


def _too_many_rows() -> dict[str, Any]:
    message = listing(*[(f"r{i}", "Produit", None) for i in range(6)])
    message["interactive"]["action"]["sections"].append(
        {"title": "Épicerie", "rows": [{"id": f"e{i}", "title": "Produit"} for i in range(5)]}
    )
    return message


def _untitled_sections() -> dict[str, Any]:
    message = listing(("a", "A", None), section=None)
    message["interactive"]["action"]["sections"].append({"rows": [{"id": "b", "title": "B"}]})
    return message


def _long_caption() -> dict[str, Any]:
    return {"type": "image", "image": {"link": "https://example.org/p.jpg", "caption": "c" * 1025}}


def _long_header() -> dict[str, Any]:
    message = buttons(("a", "A"))
    message["interactive"]["header"] = {"type": "text", "text": "h" * 61}
    return message


@pytest.mark.parametrize(
    ("message", "code", "details"),
    [
        (
            buttons(("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")),
            131009,
            "Invalid buttons count. Min allowed buttons: 1, Max allowed buttons: 3",
        ),
        (
            buttons(("a", "Réserver ce produit !")),
            131009,
            "Button title length invalid. Min length: 1, Max length: 20",
        ),
        (buttons(("a", "")), 131009, "Button title length invalid. Min length: 1, Max length: 20"),
        (
            buttons(("a" * 257, "A")),
            131009,
            "Button id length invalid. Min length: 1, Max length: 256",
        ),
        (buttons(("a", "A"), ("a", "B")), 131009, "Button ids must be unique, duplicate: a"),
        (buttons(("a", "A"), ("b", "A")), 131009, "Button titles must be unique, duplicate: A"),
        (buttons((" a", "A")), 131009, "Button id cannot have leading or trailing spaces"),
        (
            buttons(("a", "A"), body="x" * 1025),
            131009,
            "Body text length invalid. Min length: 1, Max length: 1024",
        ),
        (_too_many_rows(), 131009, "Total row count exceed max allowed count: 10"),
        (
            listing(("a", "Pain de campagne au levain", None)),
            131009,
            "Row title is too long. Max length is 24",
        ),
        (
            listing(("a", "Pain", "d" * 73)),
            131009,
            "Row description is too long. Max length is 72",
        ),
        (
            listing(("a", "Pain", None), section="Boulangerie-pâtisserie bio"),
            131009,
            "Section title is too long. Max length is 24",
        ),
        (
            listing(("a", "Pain", None), button="Voir tous les produits"),
            131009,
            "Button text length invalid. Min length: 1, Max length: 20",
        ),
        (
            listing(("a", "A", None), ("a", "B", None)),
            131009,
            "Row ids must be unique, duplicate: a",
        ),
        (_untitled_sections(), 131009, "Section title is required when there is more than one"),
        (
            listing(("a", "A", None), body="x" * 4097),
            131009,
            "Body text length invalid. Min length: 1, Max length: 4096",
        ),
        (_long_header(), 131009, "Header text length invalid. Min length: 1, Max length: 60"),
        (text("x" * 4097), 100, "Param text['body'] must be at most 4096 characters long."),
        (text(""), 100, "The parameter text['body'] is required."),
        (_long_caption(), 100, "Param image['caption'] must be at most 1024 characters long."),
        ({"type": "image", "image": {"id": "404"}}, 100, "Param image['id'] is not a valid"),
        ({"type": "sticker_pack", "sticker_pack": {}}, 100, "Param type must be one of"),
    ],
)
async def test_what_breaks_whatsapp_limits_is_refused_with_meta_errors(
    api: FakeGraphAPI,
    graph: httpx.AsyncClient,
    message: dict[str, Any],
    code: int,
    details: str,
) -> None:
    api.user_wrote(MARIE)
    answer = await send(graph, api, MARIE, **message)
    assert answer.status_code == 400
    error = error_of(answer)
    assert error["code"] == code
    assert error["type"] == "OAuthException"
    assert error["message"].startswith(f"(#{code}) ")
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert error["error_data"]["details"].startswith(details)
    assert api.rejections == [api.sent[-1]]
    assert api.rejections[0].error_code == code
    assert api.messages_to(MARIE) == []
    assert api.failed_to(MARIE) == []


async def test_malformed_requests_get_graph_errors(
    api: FakeGraphAPI, graph: httpx.AsyncClient
) -> None:
    answer = await graph.post(f"/{api.phone_number_id}/messages", json={"to": MARIE, **text("x")})
    assert error_of(answer)["message"] == "(#100) The parameter messaging_product is required."
    answer = await graph.post(
        f"/{api.phone_number_id}/messages", json={"messaging_product": "whatsapp", **text("x")}
    )
    assert error_of(answer)["message"] == "(#100) The parameter to is required."

    answer = await graph.post("/999/messages", json={"messaging_product": "whatsapp"})
    error = error_of(answer)
    assert (answer.status_code, error["code"], error["error_subcode"]) == (400, 100, 33)
    assert error["type"] == "GraphMethodException"
    assert error["message"].startswith("Unsupported post request. Object with ID '999'")


# --------------------------------------------------------------------------------------------
# The 24-hour customer-service window


async def test_free_form_outside_the_window_is_accepted_then_fails_with_131047(
    api: FakeGraphAPI, graph: httpx.AsyncClient, wall: ManualTime
) -> None:
    api.text(MARIE, "Marie", "Je passe demain")
    wall.advance(24 * 3600 - 1)
    assert (await send(graph, api, MARIE, **text("Encore là ?"))).status_code == 200
    assert [m.text for m in api.messages_to(MARIE)] == ["Encore là ?"]
    assert api.pending_statuses() == []

    wall.advance(2)
    answer = await send(graph, api, MARIE, **text("Votre commande est prête"))
    assert answer.status_code == 200
    wamid = answer.json()["messages"][0]["id"]
    assert [m.text for m in api.messages_to(MARIE)] == ["Encore là ?"]
    [failed] = api.failed_to(MARIE)
    assert (failed.id, failed.error_code) == (wamid, 131047)
    assert not api.in_window(MARIE)

    [payload] = api.pending_statuses()
    value = value_of(payload)
    assert "contacts" not in value  # Meta omits them from failed statuses
    [status] = value["statuses"]
    assert status["id"] == wamid
    assert status["status"] == "failed"
    assert status["recipient_id"] == MARIE
    assert status["timestamp"] == str(int(wall.now))
    [error] = status["errors"]
    assert error["code"] == 131047
    assert error["title"] == "Re-engagement message"
    assert "24 hours" in error["error_data"]["details"]
    assert api.take_statuses() == [payload]
    assert api.pending_statuses() == []

    api.text(MARIE, "Marie", "Coucou")  # she writes again: the window reopens
    assert (await send(graph, api, MARIE, **text("Bonjour !"))).status_code == 200
    assert api.last(MARIE).text == "Bonjour !"


async def test_templates_go_out_anytime_and_free_form_never_to_a_stranger(
    api: FakeGraphAPI, graph: httpx.AsyncClient
) -> None:
    await send(graph, api, PAUL, **text("Bonjour"))
    assert [m.error_code for m in api.failed_to(PAUL)] == [131047]

    answer = await send(graph, api, PAUL, **template("commande_prete", "Paul", "12"))
    assert answer.status_code == 200
    assert answer.json()["messages"][0]["message_status"] == "accepted"
    delivered = api.last(PAUL)
    assert delivered.template_name == "commande_prete"
    assert delivered.template_language == "fr"
    assert delivered.template_params == ["Paul", "12"]


async def test_the_window_follows_a_datetime_clock() -> None:
    now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    api = FakeGraphAPI(wall_clock=lambda: now)
    api.user_wrote(MARIE, datetime(2026, 11, 25, 9, 30, tzinfo=UTC))
    assert api.in_window(MARIE)
    api.user_wrote(PAUL, datetime(2026, 11, 25, 8, 59, tzinfo=UTC))
    assert not api.in_window(PAUL)


async def test_registered_templates_are_checked_and_rendered(
    graph: httpx.AsyncClient, api: FakeGraphAPI
) -> None:
    api.add_template("commande_prete", body="Bonjour {{1}}, votre commande n°{{2}} est prête.")
    api.add_template(Template("digest", category="MARKETING", body="Nouveautés : {{1}}"))

    answer = await send(graph, api, MARIE, **template("commande_prete", "Marie", "12"))
    assert answer.status_code == 200
    assert api.last(MARIE).text == "Bonjour Marie, votre commande n°12 est prête."

    cases = [
        (template("inconnu"), 132001, "template name (inconnu) does not exist in fr"),
        (template("digest", "x", language="en"), 132001, "template name (digest) does not"),
        (template("commande_prete", "Marie"), 132000, "body: number of localizable_params (1)"),
        (template("digest", "pain\nbrioche"), 132018, "Param text cannot have new-line"),
        (template("digest", "pain     brioche"), 132018, "Param text cannot have new-line"),
    ]
    for message, code, details in cases:
        answer = await send(graph, api, MARIE, **message)
        error = error_of(answer)
        assert (answer.status_code, error["code"]) == (400, code), error
        assert error["error_data"]["details"].startswith(details)
    assert len(api.rejections) == len(cases)


# --------------------------------------------------------------------------------------------
# Media


async def test_media_upload_send_and_download_round_trip(
    api: FakeGraphAPI, graph: httpx.AsyncClient, wall: ManualTime
) -> None:
    api.user_wrote(MARIE)
    answer = await graph.post(
        f"/{api.phone_number_id}/media",
        data={"messaging_product": "whatsapp", "type": "image/png"},
        files={"file": ("baguette.png", TINY_PNG, "image/png")},
    )
    assert answer.status_code == 200
    media_id = answer.json()["id"]
    assert api.media[media_id].origin == "upload"
    assert api.media_bytes(media_id) == TINY_PNG

    image = {"type": "image", "image": {"id": media_id, "caption": "La baguette du jour"}}
    assert (await send(graph, api, MARIE, **image)).status_code == 200
    assert (api.last(MARIE).media_id, api.last(MARIE).text) == (media_id, "La baguette du jour")

    # A user's photo: resolved by id, then downloaded with the token from lookaside.fbsbx.com.
    photo = b"\xff\xd8\xff\xe0" + b"jpeg bytes" * 50
    payload = api.image(MARIE, "Marie", photo, caption="Tomates anciennes 4,50 €/kg")
    [message] = value_of(payload)["messages"]
    assert message["type"] == "image"
    assert message["image"]["caption"] == "Tomates anciennes 4,50 €/kg"
    assert message["image"]["mime_type"] == "image/jpeg"
    assert message["image"]["sha256"] == hashlib.sha256(photo).hexdigest()

    info = (await graph.get(f"/{message['image']['id']}")).json()
    assert info["messaging_product"] == "whatsapp"
    assert (info["id"], info["mime_type"], info["file_size"]) == (
        message["image"]["id"],
        "image/jpeg",
        len(photo),
    )
    assert info["url"].startswith("https://lookaside.fbsbx.com/whatsapp_business/attachments/?")
    download = await graph.get(info["url"])
    assert download.status_code == 200
    assert download.content == photo
    assert download.headers["content-type"] == "image/jpeg"

    async with httpx.AsyncClient(transport=api.transport()) as anonymous:
        refused = await anonymous.get(info["url"])
    assert (refused.status_code, error_of(refused)["code"]) == (401, 190)

    wall.advance(301)  # media URLs live 5 minutes
    assert (await graph.get(info["url"])).status_code == 404
    fresh = (await graph.get(f"/{message['image']['id']}")).json()["url"]
    assert (await graph.get(fresh)).content == photo

    assert [c.operation for c in api.sent] == [
        "upload", "send", "media_url", "download", "download", "download", "media_url", "download"
    ]  # fmt: skip

    # Received media cannot be sent as is: the business re-uploads it.
    resend = {"type": "image", "image": {"id": message["image"]["id"]}}
    assert error_of(await send(graph, api, MARIE, **resend))["code"] == 100
    assert (await graph.delete(f"/{media_id}")).json() == {"success": True}
    assert (await graph.get(f"/{media_id}")).status_code == 400


async def test_uploads_outside_meta_types_and_sizes_are_refused(
    api: FakeGraphAPI, graph: httpx.AsyncClient
) -> None:
    async def upload(name: str, data: bytes, mime: str) -> httpx.Response:
        return await graph.post(
            f"/{api.phone_number_id}/media",
            data={"messaging_product": "whatsapp", "type": mime},
            files={"file": (name, data, mime)},
        )

    csv = await upload("produits.csv", b"nom;prix\n", "text/csv")
    assert error_of(csv)["code"] == 100
    assert "Received file of type 'text/csv'" in error_of(csv)["message"]
    assert (await upload("produits.txt", b"nom;prix\n", "text/plain")).status_code == 200
    not_an_image = await upload("x.png", b"hello", "image/png")
    assert error_of(not_an_image)["code"] == 131053
    too_big = await upload("x.jpg", b"\xff\xd8\xff" + b"0" * (5 * 1024 * 1024), "image/jpeg")
    assert error_of(too_big)["code"] == 131053
    assert len(api.rejections) == 3


async def test_documents_from_users_keep_their_name_and_type(
    api: FakeGraphAPI, graph: httpx.AsyncClient
) -> None:
    data = b"nom;prix\nBaguette;1,20\n"
    payload = api.document(MARIE, "Marie", data, "produits.csv", caption="Mon catalogue")
    [message] = value_of(payload)["messages"]
    assert message["document"]["filename"] == "produits.csv"
    assert message["document"]["mime_type"] == "text/csv"
    assert message["document"]["caption"] == "Mon catalogue"
    url = (await graph.get(f"/{message['document']['id']}")).json()["url"]
    download = await graph.get(url)
    assert download.content == data
    assert "produits.csv" in download.headers["content-disposition"]


# --------------------------------------------------------------------------------------------
# Tokens, rates and faults


async def test_a_wrong_or_missing_token_is_refused_with_190(api: FakeGraphAPI) -> None:
    body = {"messaging_product": "whatsapp", "to": MARIE, **text("x")}
    url = f"https://graph.facebook.com/v21.0/{api.phone_number_id}/messages"
    async with httpx.AsyncClient(transport=api.transport()) as client:
        wrong = await client.post(url, json=body, headers={"Authorization": "Bearer EAAnope"})
        missing = await client.post(url, json=body)
        by_query = await client.post(url, json=body, params={"access_token": TOKEN})
    for answer in (wrong, missing):
        error = error_of(answer)
        assert (answer.status_code, error["code"], error["type"]) == (401, 190, "OAuthException")
    assert error_of(wrong)["message"] == "Invalid OAuth access token - Cannot parse access token"
    assert by_query.status_code == 200
    assert len(api.messages) == 1
    assert api.rejections == []


async def test_throughput_over_per_second_gets_130429(ticks: ManualTime, wall: ManualTime) -> None:
    api = FakeGraphAPI(per_second=3, clock=ticks, wall_clock=wall)
    api.user_wrote(MARIE)
    async with api.client() as graph:
        answers = [await send(graph, api, MARIE, **text(f"n°{i}")) for i in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 400]
        error = error_of(answers[-1])
        assert (error["code"], error["message"]) == (130429, "(#130429) Rate limit hit")
        assert api.rejections == [api.sent[-1]]
        ticks.advance(1.0)
        assert (await send(graph, api, MARIE, **text("n°4"))).status_code == 200
    assert [m.text for m in api.messages_to(MARIE)] == ["n°0", "n°1", "n°2", "n°4"]


async def test_pair_rate_limit_gets_131056(ticks: ManualTime, wall: ManualTime) -> None:
    api = FakeGraphAPI(pair_limit=(2, 6.0), clock=ticks, wall_clock=wall, rate_limit_status=429)
    api.user_wrote(MARIE)
    api.user_wrote(PAUL)
    async with api.client() as graph:
        codes = [(await send(graph, api, MARIE, **text("x"))).status_code for _ in range(3)]
        assert codes == [200, 200, 400]
        assert api.rejections[-1].error_code == 131056
        assert (await send(graph, api, PAUL, **text("x"))).status_code == 200
        ticks.advance(6.0)
        assert (await send(graph, api, MARIE, **text("x"))).status_code == 200


async def test_injected_faults(api: FakeGraphAPI, graph: httpx.AsyncClient) -> None:
    api.user_wrote(MARIE)
    api.fail_next(131056)
    api.fail_next(130429, status=429)
    api.fail_next(500)
    api.fail_next(502)
    results = [await send(graph, api, MARIE, **text(f"essai {i}")) for i in range(5)]
    assert [r.status_code for r in results] == [400, 429, 500, 502, 200]
    assert [error_of(r)["code"] for r in results[:3]] == [131056, 130429, 131000]
    assert results[3].text == "Bad Gateway"
    assert [m.text for m in api.messages_to(MARIE)] == ["essai 4"]
    assert api.rejections == []  # injected faults are not the fake's own refusals

    api.fail_next(131026, via_status=True)
    answer = await send(graph, api, MARIE, **text("perdu"))
    assert answer.status_code == 200
    assert [m.error_code for m in api.failed_to(MARIE)] == [131026]
    [status] = value_of(api.take_statuses()[0])["statuses"]
    assert status["errors"][0]["title"] == "Message undeliverable"

    api.undeliverable(PAUL)
    await send(graph, api, PAUL, **template("rappel"))
    assert [m.error_code for m in api.failed_to(PAUL)] == [131026]


async def test_timeouts_and_outages_raise_httpx_errors(
    api: FakeGraphAPI, graph: httpx.AsyncClient
) -> None:
    api.user_wrote(MARIE)
    api.timeout_next()
    with pytest.raises(httpx.ReadTimeout):
        await send(graph, api, MARIE, **text("jamais parti"))
    api.timeout_next(applied=True)
    with pytest.raises(httpx.ReadTimeout):
        await send(graph, api, MARIE, **text("parti quand même"))
    assert [m.text for m in api.messages_to(MARIE)] == ["parti quand même"]

    api.go_down()
    with pytest.raises(httpx.ConnectError):
        await send(graph, api, MARIE, **text("panne"))
    api.come_back()
    assert (await send(graph, api, MARIE, **text("revenu"))).status_code == 200
    assert [c.outcome for c in api.sent] == ["timeout", "timeout", "network", "ok"]


async def test_mark_as_read_needs_a_message_the_user_sent(
    api: FakeGraphAPI, graph: httpx.AsyncClient
) -> None:
    [message] = value_of(api.text(MARIE, "Marie", "Bonjour"))["messages"]
    read = {"messaging_product": "whatsapp", "status": "read", "message_id": message["id"]}
    answer = await graph.post(f"/{api.phone_number_id}/messages", json=read)
    assert answer.json() == {"success": True}
    assert api.read_receipts == [message["id"]]
    assert api.sent[-1].operation == "mark_read"
    unknown = {**read, "message_id": "wamid.nope"}
    answer = await graph.post(f"/{api.phone_number_id}/messages", json=unknown)
    assert error_of(answer)["code"] == 100


# --------------------------------------------------------------------------------------------
# Webhook payloads


def test_a_text_payload_has_meta_shape(api: FakeGraphAPI, wall: ManualTime) -> None:
    payload = api.text(MARIE, "Marie Dupont", "Bonjour, avez-vous du pain ?")
    assert payload["entry"][0]["id"] == api.waba_id
    value = value_of(payload)
    assert value["messaging_product"] == "whatsapp"
    assert value["metadata"] == {
        "display_phone_number": api.display_phone_number,
        "phone_number_id": api.phone_number_id,
    }
    [contact] = value["contacts"]
    assert contact["profile"] == {"name": "Marie Dupont"}
    assert contact["wa_id"] == MARIE
    assert contact["user_id"].startswith("FR.")
    [message] = value["messages"]
    assert message["from"] == MARIE
    assert message["from_user_id"] == contact["user_id"]
    assert message["id"].startswith("wamid.")
    assert message["timestamp"] == str(int(wall.now))
    assert message["type"] == "text"
    assert message["text"] == {"body": "Bonjour, avez-vous du pain ?"}
    assert api.in_window(MARIE)

    again = value_of(api.text(MARIE, None, "Merci"))
    assert again["contacts"][0]["profile"]["name"] == "Marie Dupont"  # remembered
    assert again["messages"][0]["id"] != message["id"]

    legacy = FakeGraphAPI(bsuids=False).text(MARIE, "Marie", "x")
    assert "user_id" not in value_of(legacy)["contacts"][0]
    assert "from_user_id" not in value_of(legacy)["messages"][0]


async def test_replies_to_buttons_and_lists_quote_the_delivered_message(
    api: FakeGraphAPI, graph: httpx.AsyncClient
) -> None:
    api.text(MARIE, "Marie", "Bonjour")
    await send(graph, api, MARIE, **buttons(("p_12", "Réserver"), ("more", "Voir plus")))
    offer = api.last(MARIE)

    [pressed] = value_of(api.button_reply(MARIE, "Marie", "p_12"))["messages"]
    assert pressed["type"] == "interactive"
    assert pressed["interactive"] == {
        "type": "button_reply",
        "button_reply": {"id": "p_12", "title": "Réserver"},
    }
    assert pressed["context"] == {"from": api.display_phone_number, "id": offer.id}
    with pytest.raises(ValueError, match="no reply button 'p_99'"):
        api.button_reply(MARIE, "Marie", "p_99")
    forged = value_of(api.button_reply(MARIE, "Marie", "p_99", "Vieux", "wamid.x", strict=False))
    assert forged["messages"][0]["interactive"]["button_reply"]["title"] == "Vieux"

    await send(graph, api, MARIE, **listing(("p_1", "Baguette", "1,20 €"), ("p_2", "Pain", None)))
    [picked] = value_of(api.list_reply(MARIE, "Marie", "p_1"))["messages"]
    assert picked["interactive"]["list_reply"] == {
        "id": "p_1",
        "title": "Baguette",
        "description": "1,20 €",
    }
    assert picked["context"]["id"] == api.last(MARIE).id

    [tapped] = value_of(api.choose(MARIE, "Voir plus"))["messages"]
    assert tapped["interactive"]["button_reply"]["id"] == "more"
    assert tapped["context"]["id"] == offer.id
    [row] = value_of(api.choose(MARIE, "Pain"))["messages"]
    assert row["interactive"]["list_reply"] == {"id": "p_2", "title": "Pain"}


def test_location_contacts_and_status_payloads(api: FakeGraphAPI) -> None:
    [here] = value_of(api.location(MARIE, "Marie", 45.04, 3.88, place_name="Place du marché"))[
        "messages"
    ]
    assert here["location"] == {"latitude": 45.04, "longitude": 3.88, "name": "Place du marché"}

    [card] = value_of(api.contacts(MARIE, "Marie Dupont", "+33 6 12 34 56 78"))["messages"]
    assert card["type"] == "contacts"
    [shared] = card["contacts"]
    assert shared["name"]["formatted_name"] == "Marie Dupont"
    assert shared["phones"] == [{"phone": "+33 6 12 34 56 78", "type": "CELL", "wa_id": MARIE}]

    delivered = value_of(api.status("wamid.abc", "delivered", recipient_id=MARIE))
    [status] = delivered["statuses"]
    assert (status["status"], status["recipient_id"]) == ("delivered", MARIE)
    assert status["recipient_user_id"] == delivered["contacts"][0]["user_id"]
    assert status["pricing"]["category"] == "service"

    failed = value_of(api.status("wamid.abc", "failed", [{"code": 131047}], recipient_id=MARIE))
    [error] = failed["statuses"][0]["errors"]
    assert error["code"] == 131047
    assert error["title"] == "Re-engagement message"
    assert error["href"].startswith("https://developers.facebook.com/")
    with pytest.raises(ValueError, match="pass recipient_id"):
        api.status("wamid.unknown", "read")


def test_signatures_verify_with_hmac_sha256_of_the_raw_body(api: FakeGraphAPI) -> None:
    payload = api.text(MARIE, "Élodie", "Crème brûlée / 2 €")
    body, headers = api.signed(payload, APP_SECRET)
    assert b"\\u00c9lodie" in body  # encoded like Meta: ASCII only...
    assert b"\\/" in body  # ...and slashes escaped
    assert json.loads(body) == payload
    expected = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Hub-Signature-256"], expected)
    assert api.sign(body, APP_SECRET) == expected
    assert api.sign(body, "another secret") != expected
    reserialised = json.dumps(json.loads(body)).encode()
    assert api.sign(reserialised, APP_SECRET) != expected

    both = api.combine(payload, api.text(PAUL, "Paul", "Salut"))
    assert [e["changes"][0]["value"]["contacts"][0]["wa_id"] for e in both["entry"]] == [
        MARIE,
        PAUL,
    ]
    assert api.verification("vt")["hub.verify_token"] == "vt"


async def test_generated_statuses_can_include_sent_and_delivered(
    wall: ManualTime,
) -> None:
    api = FakeGraphAPI(wall_clock=wall, report_delivery=True)
    api.user_wrote(MARIE)
    async with api.client() as graph:
        body = {**text("Votre commande"), "biz_opaque_callback_data": "outbox:42"}
        await send(graph, api, MARIE, **body)
    statuses = [value_of(p)["statuses"][0] for p in api.take_statuses()]
    assert [s["status"] for s in statuses] == ["sent", "delivered"]
    assert {s["biz_opaque_callback_data"] for s in statuses} == {"outbox:42"}


async def test_wait_for_wakes_up_on_requests(api: FakeGraphAPI, graph: httpx.AsyncClient) -> None:
    api.user_wrote(MARIE)

    async def answer_later() -> None:
        await asyncio.sleep(0.01)
        await send(graph, api, MARIE, **text("Bonjour"))

    task = asyncio.create_task(answer_later())
    message = await api.wait_for(lambda: api.messages_to(MARIE), timeout=1.0)
    assert message[0].text == "Bonjour"
    await task
    with pytest.raises(AssertionError, match="condition not met"):
        await api.wait_for(lambda: api.messages_to(PAUL), timeout=0.05)


# --------------------------------------------------------------------------------------------
# Through pywa's async client (when installed)


async def test_pywa_sends_through_the_fake(api: FakeGraphAPI) -> None:
    pywa_async = pytest.importorskip("pywa_async")
    from pywa_async import types
    from pywa_async.errors import InvalidParameter

    api.text(MARIE, "Marie", "Bonjour")
    async with httpx.AsyncClient(transport=api.transport()) as session:
        wa = pywa_async.WhatsApp(phone_id=api.phone_number_id, token=api.token, session=session)
        sent = await wa.send_message(MARIE, "Bonjour Marie !")
        await wa.send_message(
            MARIE,
            "Que voulez-vous faire ?",
            buttons=[types.Button("Réserver", "p_12"), types.Button("Voir plus", "more")],
        )
        rows = [types.SectionRow("Baguette", "p_1", "1,20 €"), types.SectionRow("Pain", "p_2")]
        await wa.send_message(
            MARIE,
            "Nos produits",
            buttons=types.SectionList("Voir", [types.Section("Boulangerie", rows)]),
        )
        with pytest.raises(InvalidParameter) as refused:
            await wa.send_message(MARIE, "x", buttons=[types.Button("Réserver ce produit !", "x")])
        media = await wa.upload_media(media=TINY_PNG, mime_type="image/png", filename="p.png")
        await wa.send_image(MARIE, media, caption="La baguette")
        [inbound] = value_of(api.image(MARIE, "Marie", TINY_PNG))["messages"]
        url = await wa.get_media_url(inbound["image"]["id"])
        assert await wa.get_media_bytes(url.url) == TINY_PNG

    assert sent.id == api.messages_to(MARIE)[0].id
    assert refused.value.code == 131009
    assert refused.value.details == "Button title length invalid. Min length: 1, Max length: 20"
    assert refused.value.status_code == 400
    seen = api.messages_to(MARIE)
    assert seen[0].text == "Bonjour Marie !"
    assert seen[1].buttons == [("p_12", "Réserver"), ("more", "Voir plus")]
    assert seen[2].rows == [("p_1", "Baguette", "1,20 €"), ("p_2", "Pain", None)]
    assert (seen[3].media_id, seen[3].text) == (media.id, "La baguette")
    assert {c.version for c in api.sent if c.operation != "download"} == {"v26.0"}


async def test_pywa_parses_and_verifies_the_payloads(api: FakeGraphAPI) -> None:
    pywa_async = pytest.importorskip("pywa_async")
    from pywa_async import handlers, types

    received: list[Any] = []

    async def keep(_: object, update: object) -> None:
        received.append(update)

    async with httpx.AsyncClient(transport=api.transport()) as session:
        wa = pywa_async.WhatsApp(
            phone_id=api.phone_number_id, token=api.token, session=session, app_secret=APP_SECRET
        )
        wa.add_handlers(
            handlers.MessageHandler(keep),
            handlers.CallbackButtonHandler(keep),
            handlers.CallbackSelectionHandler(keep),
            handlers.MessageStatusHandler(keep),
        )
        payloads = [api.text(MARIE, "Élodie", "Bonjour / é")]
        await wa.send_message(MARIE, "?", buttons=[types.Button("Oui", "yes")])
        payloads.append(api.button_reply(MARIE, None, "yes"))
        payloads.append(api.status(api.last(MARIE).id, "read"))
        for payload in payloads:
            body, headers = api.signed(payload, APP_SECRET)
            assert await wa.webhook_update_validator(body, headers["X-Hub-Signature-256"]) is None
            assert await wa.webhook_update_handler(body) == ("ok", 200)
        forged, _ = api.signed(api.text(MARIE, None, "x"), "wrong secret")
        assert await wa.webhook_update_validator(forged, api.sign(forged, "wrong")) is not None

    message, button, status = received
    assert (message.text, message.from_user.wa_id, message.from_user.name) == (
        "Bonjour / é",
        MARIE,
        "Élodie",
    )
    assert button.data == "yes"
    assert status.status == "read"
