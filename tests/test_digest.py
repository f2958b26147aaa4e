"""The weekly digest: subscriptions with consent, what each subscriber gets, the
schedule in Paris across a daylight-saving change, and runs that deliver each digest
once, even when stopped halfway: what a dead sender took is taken over at once, what a
live one took never is, however long it takes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from chatshop.conversation.digest import DIGEST_MAX, digest_text
from chatshop.delivery.broadcast import deliver_run
from chatshop.delivery.outcome import Gone, Message, Outcome, Refused, Sent
from chatshop.domain.models import Digest, ShopDetails, SubscriptionScope, User
from chatshop.domain.schedule import (
    next_digest_time,
    parse_schedule,
    scheduled_in_week,
    week_of,
)
from chatshop.errors import InvalidInput, NotAllowed, NotFound
from chatshop.services import Services
from chatshop.storage.leases import FileLeases
from tests.chat import Chat, Postbox
from tests.conftest import FakeClock, Territory

PARIS = ZoneInfo("Europe/Paris")


async def composed_list(services: Services) -> list[Digest]:
    """This week's digest of every Telegram subscriber, page after page."""
    return [share.to(subscriber) async for page in services.digest.compose_all("telegram")
            for subscriber, share in page]
FRIDAY_17 = (4, time(17, 0))


# -- schedule ----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("ven 17:00", (4, time(17, 0))), ("vendredi 17h", (4, time(17, 0))),
    ("fri 17:00", (4, time(17, 0))), ("Sam 9h30", (5, time(9, 30))),
])
def test_a_schedule_reads_like_a_day_and_a_time(text: str, expected: tuple[int, time]) -> None:
    assert parse_schedule(text) == expected


@pytest.mark.parametrize("text", ["vendredi", "17:00", "ven 25:00", "ven 17:75", "xyz 17:00"])
def test_a_wrong_schedule_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"ven 17:00|impossible"):
        parse_schedule(text)


def test_friday_17_00_in_paris_follows_summer_and_winter_time() -> None:
    # Thursday 22 October 2026 (summer time, UTC+2): Friday 17:00 is 15:00 UTC.
    before = datetime(2026, 10, 22, 12, tzinfo=UTC)
    assert next_digest_time(before, *FRIDAY_17, PARIS) == datetime(2026, 10, 23, 15,
                                                                   tzinfo=UTC)
    # Saturday 24 October: the next Friday is after the change (25 October): 16:00 UTC.
    after = datetime(2026, 10, 24, 12, tzinfo=UTC)
    assert next_digest_time(after, *FRIDAY_17, PARIS) == datetime(2026, 10, 30, 16,
                                                                  tzinfo=UTC)
    # On Friday at 17:00 exactly, the next one is a week later.
    assert next_digest_time(datetime(2026, 10, 30, 16, tzinfo=UTC), *FRIDAY_17, PARIS) \
        == datetime(2026, 11, 6, 16, tzinfo=UTC)


def test_the_week_s_sending_time_and_name() -> None:
    sunday_night = datetime(2026, 11, 29, 22, 30, tzinfo=UTC)
    assert week_of(sunday_night, PARIS) == "2026-W48"  # 23:30 Sunday, Paris
    assert scheduled_in_week(sunday_night, *FRIDAY_17, PARIS) == datetime(
        2026, 11, 27, 16, tzinfo=UTC)


# -- subscribing and composing -------------------------------------------------------------


async def test_without_consent_there_is_no_digest(territory: Territory) -> None:
    await territory.product("Miel de châtaignier", 900)
    assert await composed_list(territory.services) == []
    run = await territory.services.digest.start_week("telegram")
    assert run is not None
    assert (await territory.services.digest.report(run)).total == 0


async def test_each_subscriber_gets_the_news_of_what_they_follow(
        territory: Territory, clock: FakeClock) -> None:
    services = territory.services
    other_commune = await services.shops.add_commune(territory.operator, "Chaillac", "87200")
    farm, farmer = await territory.open_shop("La Ferme", "2100", commune=other_commune)
    everyone = await territory.person("5001")
    village = await territory.person("5002")
    fan = await territory.person("5003")
    await services.digest.subscribe(everyone.id, SubscriptionScope.TERRITORY)
    await services.digest.subscribe(village.id, SubscriptionScope.COMMUNES,
                                    commune_ids=[other_commune.id])
    await services.digest.subscribe(fan.id, SubscriptionScope.SHOPS,
                                    shop_ids=[territory.shop.id])
    clock.now += timedelta(hours=1)
    await territory.product("Miel de châtaignier", 900)
    await territory.product("Oeufs frais x6", 320, shop=farm, owner=farmer)
    await services.shops.set_announcement(farmer, farm.id, "Marché à la ferme samedi !")
    await services.shops.set_holiday(territory.owner, territory.shop.id, True,
                                     "De retour le 2 janvier")

    digests = {d.user_id: d for d in await composed_list(services)}
    assert [p.name for p in digests[everyone.id].new] == ["Oeufs frais x6",
                                                          "Miel de châtaignier"]
    assert [p.name for p in digests[village.id].new] == ["Oeufs frais x6"]
    assert [n.text for n in digests[village.id].announcements] == [
        "Marché à la ferme samedi !"]
    assert digests[village.id].closures == ()
    assert [p.name for p in digests[fan.id].new] == ["Miel de châtaignier"]
    assert [n.text for n in digests[fan.id].closures] == ["De retour le 2 janvier"]


async def test_a_subscription_names_existing_communes_and_shops(territory: Territory) -> None:
    services = territory.services
    with pytest.raises(NotFound):
        await services.digest.subscribe(territory.customer.id, SubscriptionScope.SHOPS,
                                        shop_ids=[999_999])
    with pytest.raises(InvalidInput):
        await services.digest.subscribe(territory.customer.id, SubscriptionScope.COMMUNES)
    assert await services.digest.subscription(territory.customer.id) is None


async def test_a_long_digest_is_cut_with_and_n_more(territory: Territory,
                                                    clock: FakeClock) -> None:
    services = territory.services
    await services.digest.subscribe(territory.customer.id, SubscriptionScope.TERRITORY)
    clock.now += timedelta(minutes=1)
    for n in range(150):
        await territory.product(f"Confiture maison parfum n°{n:03} pot de 370 g", 450)
    (digest,) = await composed_list(services)
    text = digest_text(digest, "Porte Océane du Limousin")
    assert len(text) <= DIGEST_MAX
    shown = text.count("Confiture maison")
    assert f"… et {150 - shown} autres" in text
    full = digest_text(digest, "Porte Océane du Limousin", limit=None)
    assert full.count("Confiture maison") == 150


async def test_the_next_digest_covers_only_what_came_after_the_last_one(
        territory: Territory, clock: FakeClock) -> None:
    services = territory.services
    await services.digest.subscribe(territory.customer.id, SubscriptionScope.TERRITORY)
    clock.now += timedelta(minutes=1)
    await territory.product("Miel de châtaignier", 900)
    sent = await _run(services)
    assert sent["3000"][0].count("Miel") == 1
    clock.now += timedelta(days=7)
    await territory.product("Savon au lait d'ânesse", 650)
    again = await _run(services)
    assert "Savon" in again["3000"][0]
    assert "Miel" not in again["3000"][0]


# -- runs --------------------------------------------------------------------------------


async def subscribers_with_news(territory: Territory, clock: FakeClock, count: int, *,
                                first: int) -> tuple[list[User], int]:
    """``count`` people (Telegram ids from ``first``) subscribed to the whole territory,
    a new product since, and this week's run started: the people and the run."""
    services = territory.services
    people = [await territory.person(str(first + n)) for n in range(count)]
    for person in people:
        await services.digest.subscribe(person.id, SubscriptionScope.TERRITORY)
    clock.now += timedelta(minutes=1)
    await territory.product("Miel de châtaignier", 900)
    run_id = await services.digest.start_week("telegram")
    assert run_id is not None
    return people, run_id


class Killed(BaseException):
    """The sending process dies here (not an error the sender could catch and go on)."""


async def _run(services: Services, *, forced: bool = True, fail_after: int | None = None,
               stop: asyncio.Event | None = None) -> dict[str, list[str]]:
    """Start (forced) and deliver a run; returns the texts each person received."""
    received: dict[str, list[str]] = {}
    await services.digest.start_week("telegram", forced=forced)
    (run_id, _week), *_ = await services.digest.unfinished_runs("telegram")
    sent = [0]

    async def send(message: Message) -> Outcome:
        reply = message.reply
        assert reply.to is not None
        if fail_after is not None and sent[0] >= fail_after:
            raise Killed("the process is killed")
        sent[0] += 1
        received.setdefault(reply.to.user_id, []).append(reply.text)
        return Sent()

    await deliver_run(services, "Territoire", run_id, send, stop=stop)
    return received


async def test_a_run_stopped_halfway_goes_on_and_everyone_gets_one_digest(
        territory: Territory, clock: FakeClock) -> None:
    services = territory.services
    people, run_id = await subscribers_with_news(territory, clock, 12, first=6000)
    received: dict[str, int] = {}
    crash_after = 5

    async def send(message: Message) -> Outcome:
        reply = message.reply
        assert reply.to is not None
        if sum(received.values()) >= crash_after:
            raise Killed("killed before the message left")
        received[reply.to.user_id] = received.get(reply.to.user_id, 0) + 1
        return Sent()

    with pytest.raises(Killed):
        await deliver_run(services, "Territoire", run_id, send)
    crash_after = 10**6  # the restart, at once: the dead sender's lease went with it
    ((again, _week),) = await services.digest.unfinished_runs("telegram")
    report = await deliver_run(services, "Territoire", again, send)
    assert received == {p.external_id: 1 for p in people}
    assert report.sent == 12
    assert await services.digest.unfinished_runs("telegram") == []


async def test_one_subscriber_s_unexpected_error_fails_only_their_digest(
        territory: Territory, clock: FakeClock) -> None:
    services = territory.services
    people, run_id = await subscribers_with_news(territory, clock, 5, first=6100)
    broken = people[1].external_id
    reached: list[str] = []

    async def send(message: Message) -> Outcome:
        reply = message.reply
        assert reply.to is not None
        if reply.to.user_id == broken:
            raise KeyError("a bug in this one's rendering")
        reached.append(reply.to.user_id)
        return Sent()

    report = await deliver_run(services, "Territoire", run_id, send)
    assert sorted(reached) == sorted(p.external_id for p in people if p.external_id != broken)
    assert (report.sent, report.failed, report.pending) == (4, 1, 0)
    assert report.failures[0][0].startswith("incident ")
    assert await services.digest.unfinished_runs("telegram") == []


async def test_a_second_send_the_same_week_does_nothing_unless_forced(
        territory: Territory, clock: FakeClock) -> None:
    services = territory.services
    await services.digest.subscribe(territory.customer.id, SubscriptionScope.TERRITORY)
    assert await services.digest.start_week("telegram") is not None
    assert await services.digest.start_week("telegram") is None
    assert await services.digest.start_week("telegram", forced=True) is not None


async def test_unsubscribing_before_the_send_means_no_digest(
        territory: Territory, clock: FakeClock) -> None:
    services = territory.services
    await services.digest.subscribe(territory.customer.id, SubscriptionScope.TERRITORY)
    clock.now += timedelta(minutes=1)
    await territory.product("Miel de châtaignier", 900)
    await services.digest.start_week("telegram")
    await services.digest.unsubscribe(territory.customer.id)
    ((run_id, _week),) = await services.digest.unfinished_runs("telegram")

    async def send(message: Message) -> Outcome:
        raise AssertionError("nothing should be sent")

    report = await deliver_run(services, "Territoire", run_id, send)
    assert (report.sent, report.unsubscribed) == (0, 1)


async def test_no_news_no_message(territory: Territory) -> None:
    services = territory.services
    await services.digest.subscribe(territory.customer.id, SubscriptionScope.TERRITORY)
    run_id = await services.digest.start_week("telegram")
    assert run_id is not None

    async def send(message: Message) -> Outcome:
        raise AssertionError("no news: nothing to send")

    report = await deliver_run(services, "T", run_id, send)
    assert (report.no_news, report.sent) == (1, 0)


# -- in the chat ---------------------------------------------------------------------------


async def test_subscribing_shows_the_consent_and_records_its_time(
        territory: Territory, jeanne: Chat, clock: FakeClock) -> None:
    await jeanne.send("/abonnement")
    assert "vendredi" in jeanne.text
    assert "Se désabonner" in jeanne.text
    assert await territory.services.digest.subscription(territory.customer.id) is None
    await jeanne.press("🌍")
    found = await territory.services.digest.subscription(territory.customer.id)
    assert found is not None
    assert (found.scope, found.consented_at) == (SubscriptionScope.TERRITORY, clock.now)
    await jeanne.send("/desabonnement")
    assert await territory.services.digest.subscription(territory.customer.id) is None


async def test_following_communes_by_tapping_them(territory: Territory, jeanne: Chat) -> None:
    await jeanne.send("/abonnement")
    await jeanne.press("🏘")
    await jeanne.press("◻️ Rochechouart")
    found = await territory.services.digest.subscription(territory.customer.id)
    assert found is not None
    assert found.commune_ids == {territory.commune.id}
    assert "✅ Rochechouart" in jeanne.labels
    await jeanne.press("✅ Rochechouart")  # tapped again: nothing followed, no digest
    assert await territory.services.digest.subscription(territory.customer.id) is None


async def test_the_digest_carries_a_one_tap_unsubscribe(
        territory: Territory, jeanne: Chat, clock: FakeClock) -> None:
    services = territory.services
    await services.digest.subscribe(territory.customer.id, SubscriptionScope.TERRITORY)
    clock.now += timedelta(minutes=1)
    await territory.product("Miel de châtaignier", 900)
    (digest,) = await composed_list(services)
    from chatshop.conversation.digest import digest_reply
    reply = digest_reply(digest, "Territoire")
    assert "un" in {b.payload for b in reply.all_buttons}
    await jeanne.forge("un")
    assert await services.digest.subscription(territory.customer.id) is None


async def test_the_operator_previews_to_themselves_only(
        territory: Territory, operator_chat: Chat, jeanne: Chat, clock: FakeClock) -> None:
    clock.now += timedelta(minutes=1)
    await territory.product("Miel de châtaignier", 900)
    replies = await operator_chat.forge("owp")
    assert any("Miel" in r.text for r in replies)
    assert all(r.to is None for r in replies)
    assert jeanne.inbox() == []
    denied = await jeanne.forge("owp")
    assert "Miel" not in " ".join(r.text for r in denied)
    with pytest.raises(NotAllowed):
        await territory.services.digest.preview(territory.services.customers.actor(
            territory.customer))


@pytest.fixture
def jeanne(conversation: object, postbox: Postbox) -> Chat:
    return Chat(conversation, "3000", "Jeanne", postbox)  # type: ignore[arg-type]


@pytest.fixture
def operator_chat(conversation: object, postbox: Postbox) -> Chat:
    return Chat(conversation, "1000", "Office", postbox)  # type: ignore[arg-type]




async def test_export_shows_the_consent_and_erase_forgets_the_subscription(
        territory: Territory, clock: FakeClock) -> None:
    import json

    services = territory.services
    await services.digest.subscribe(territory.customer.id, SubscriptionScope.TERRITORY)
    exported = json.loads(await services.customers.export(territory.customer.id))
    assert exported["weekly_digest"]["consented_at"].startswith("2026-11-26T09:00")
    await services.customers.erase(territory.customer.id)
    assert await services.digest.subscription(territory.customer.id) is None
    assert await composed_list(services) == []


async def test_two_senders_on_one_run_never_send_to_the_same_subscriber(
        territory: Territory, clock: FakeClock) -> None:
    services = territory.services
    people, run_id = await subscribers_with_news(territory, clock, 30, first=6100)
    received: dict[str, int] = {}

    async def send(message: Message) -> Outcome:
        reply = message.reply
        assert reply.to is not None
        await asyncio.sleep(0)  # let the other sender run meanwhile
        received[reply.to.user_id] = received.get(reply.to.user_id, 0) + 1
        return Sent()

    # The bot's job and ``chatshop digest send`` at the same time.
    await asyncio.gather(deliver_run(services, "T", run_id, send),
                         deliver_run(services, "T", run_id, send))
    assert received == {p.external_id: 1 for p in people}
    assert (await services.digest.report(run_id)).sent == 30


async def test_a_live_sender_keeps_what_it_took_however_long_it_takes(
        territory: Territory, clock: FakeClock) -> None:
    services = territory.services
    people, run_id = await subscribers_with_news(territory, clock, 60, first=6200)
    received: dict[str, int] = {}
    stuck, go_on = asyncio.Event(), asyncio.Event()

    async def send(message: Message) -> Outcome:
        reply = message.reply
        assert reply.to is not None
        received[reply.to.user_id] = received.get(reply.to.user_id, 0) + 1
        return Sent()

    async def slow(message: Message) -> Outcome:
        stuck.set()  # a platform that makes it wait (a 429 of minutes), its 50 taken
        await go_on.wait()
        return await send(message)

    first = asyncio.create_task(deliver_run(services, "T", run_id, slow))
    await stuck.wait()
    clock.now += timedelta(days=1)  # no timeout gives what a live sender took away
    second = await deliver_run(services, "T", run_id, send)
    assert (second.sent, second.pending) == (10, 50)
    assert [run for run, _week in await services.digest.unfinished_runs("telegram")] == [
        run_id]
    go_on.set()
    report = await first
    assert (report.sent, report.pending) == (60, 0)
    assert received == {p.external_id: 1 for p in people}
    assert await services.digest.unfinished_runs("telegram") == []


async def test_the_report_counts_refusals_and_gives_the_reasons_of_failures(
        territory: Territory, clock: FakeClock) -> None:
    services = territory.services
    _people, run_id = await subscribers_with_news(territory, clock, 6, first=6300)
    outcomes = iter([
        Sent(), Gone("Forbidden: bot was blocked by the user"),
        Refused("(#131047) Re-engagement message", outside_window=True),
        Refused("Bad Request: chat not found"),
        Refused("Bad Request: chat not found"),
        Refused("Bad Request: message is too long")])

    async def send(message: Message) -> Outcome:
        return next(outcomes)

    report = await deliver_run(services, "T", run_id, send)
    assert (report.sent, report.blocked, report.outside_window, report.refused,
            report.failed, report.pending, report.total) == (1, 1, 1, 2, 3, 0, 6)
    assert report.failures == (("Bad Request: chat not found", 2),
                               ("Bad Request: message is too long", 1))


def test_a_digest_lease_dies_with_its_process_at_once_and_never_on_its_own(
        tmp_path: Path) -> None:
    database = tmp_path / "chatshop.db"
    leases = FileLeases(database)
    mine = leases.hold()
    assert leases.alive(mine.token)  # even asked from its own process
    holders = [subprocess.Popen([sys.executable, "-c", _HOLD_A_LEASE, str(database)],
                                stdout=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        tokens = [holder.stdout.readline().strip() for holder in holders if holder.stdout]
        assert len(tokens) == 2
        assert all(leases.alive(token) for token in tokens)
        holders[0].kill()  # SIGKILL: no clean-up of any kind
        holders[0].wait()
        assert not leases.alive(tokens[0])  # at once
        assert not leases.path(tokens[0]).exists()  # whoever finds it dead removes it
        assert leases.alive(tokens[1])
        holders[1].kill()
        holders[1].wait()
        assert leases.path(tokens[1]).exists()  # a killed sender leaves its file...
        other = leases.hold()  # ...removed by the next one to take a lease
        assert not leases.path(tokens[1]).exists()
        assert {p.name for p in tmp_path.iterdir()} == {
            leases.path(mine.token).name, leases.path(other.token).name}
    finally:
        for holder in holders:
            holder.kill()
            holder.wait()
            if holder.stdout:
                holder.stdout.close()
    mine.release()
    other.release()
    assert not leases.alive(mine.token)
    assert list(tmp_path.iterdir()) == []


_HOLD_A_LEASE = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from chatshop.storage.leases import FileLeases\n"
    "lease = FileLeases(Path(sys.argv[1])).hold()\n"
    "print(lease.token, flush=True)\n"
    "time.sleep(60)\n"
)


async def test_see_everything_right_after_a_digest_still_shows_the_week(
        territory: Territory, clock: FakeClock, jeanne: Chat) -> None:
    services = territory.services
    await services.digest.subscribe(territory.customer.id, SubscriptionScope.TERRITORY)
    clock.now += timedelta(minutes=1)
    await territory.product("Miel de châtaignier", 900)
    assert "3000" in await _run(services)
    clock.now += timedelta(minutes=1)
    await jeanne.forge("na")
    assert "Miel de châtaignier" in jeanne.text


async def test_back_in_stock_means_there_was_none_left(
        territory: Territory, clock: FakeClock) -> None:
    services = territory.services
    honey = await territory.product("Miel de châtaignier", 900, on_hand=0)
    soap = await territory.product("Savon au lait d'ânesse", 650, on_hand=5)
    await services.digest.subscribe(territory.customer.id, SubscriptionScope.TERRITORY)
    await _run(services)  # last week's digest
    clock.now += timedelta(days=7)
    await services.catalogue.add_stock(territory.owner, honey.id, 6)  # 0 -> 6: back
    await services.catalogue.add_stock(territory.owner, soap.id, 1)  # 5 -> 6: not news
    (digest,) = await composed_list(services)
    assert [p.name for p in digest.back_in_stock] == ["Miel de châtaignier"]


async def test_a_shop_on_holiday_alone_is_not_news(territory: Territory) -> None:
    services = territory.services
    await services.digest.subscribe(territory.customer.id, SubscriptionScope.TERRITORY)
    await services.shops.set_holiday(territory.owner, territory.shop.id, True, "À lundi")
    (digest,) = await composed_list(services)
    assert digest.closures
    assert digest.empty
    await services.digest.start_week("telegram")
    ((run_id, _week),) = await services.digest.unfinished_runs("telegram")

    async def send(message: Message) -> Outcome:
        raise AssertionError("no news: nothing to send")

    report = await deliver_run(services, "T", run_id, send)
    assert (report.no_news, report.sent) == (1, 0)


async def test_a_followed_shop_that_closes_does_not_lock_the_subscription(
        territory: Territory, jeanne: Chat) -> None:
    services = territory.services
    other, _owner = await territory.open_shop("La Ferme", "2100")
    await services.digest.subscribe(territory.customer.id, SubscriptionScope.SHOPS,
                                    shop_ids=[territory.shop.id, other.id])
    await services.shops.update_shop(territory.operator, other.id,
                                     ShopDetails(active=False))
    await jeanne.forge(f"nht:{territory.shop.id}:0")  # untick the remaining one
    assert await services.digest.subscription(territory.customer.id) is None


async def test_the_week_s_run_starts_once_its_time_has_come(
        territory: Territory, clock: FakeClock) -> None:
    services = territory.services
    await services.digest.subscribe(territory.customer.id, SubscriptionScope.TERRITORY)
    assert await services.digest.start_if_due("telegram") is None  # Thursday morning
    clock.now = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # Friday 17:00 in Paris
    assert await services.digest.start_if_due("telegram") is not None
    clock.now += timedelta(hours=20)  # the job looks again on Saturday: nothing more
    assert await services.digest.start_if_due("telegram") is None


async def test_a_forged_toggle_for_a_commune_that_does_not_exist_changes_nothing(
        territory: Territory, jeanne: Chat) -> None:
    await jeanne.forge("nct:999999:0")
    assert "introuvable" in jeanne.text or "retiré" in jeanne.text
    assert await territory.services.digest.subscription(territory.customer.id) is None
