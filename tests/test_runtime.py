"""The delivery runtime of one process: one scheduler whatever channels it serves, the
reservations sweep that reminds each reservation once (claimed with its outbox row in
one transaction), and the outbox and digest through the ``Platform`` protocol.

The channels run for real here: ``app.serve`` with Telegram (long polling on the fake
Bot API) and WhatsApp (its webhook served on the loopback address, the fake Graph API
behind pywa) both on, the jobs at short intervals.
"""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from chatshop.app import App, serve
from chatshop.config import load_settings
from chatshop.conversation.messages import Reply
from chatshop.conversation.router import Conversation
from chatshop.delivery import broadcast, runtime
from chatshop.delivery.outcome import Gone, Later, Outcome, Refused, Sent
from chatshop.delivery.runtime import Delivery
from chatshop.delivery.scheduler import Scheduler
from chatshop.domain.models import Reservation
from chatshop.services import Services
from chatshop.storage import Store
from tests.conftest import FakeClock, Territory
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.graph_api import PHONE_NUMBER_ID, TOKEN, FakeGraphAPI
from tests.test_digest import subscribers_with_news
from tests.world import Collecting, runtime_of, swept

pytestmark = pytest.mark.usefixtures("clean_environment")

TELEGRAM_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
LEA_WA = "33612345678"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def delivery_of(services: Services, conversation: Conversation) -> Delivery:
    return runtime_of(services, conversation)


async def two_reservations_due_for_a_reminder(
        territory: Territory, services: Services, clock: FakeClock
) -> tuple[Reservation, Reservation]:
    """Jeanne (Telegram) and Léa (WhatsApp) each reserved; their deadlines are now five
    hours away: within the reminder's six."""
    honey = await territory.product("Miel de châtaignier", 850, on_hand=5)
    jeanne = await services.reservations.reserve_now(territory.customer.id, honey.id, 1, "k1")
    lea = await services.customers.seen("whatsapp", LEA_WA, "Léa")
    hers = await services.reservations.reserve_now(lea.id, honey.id, 2, "k2")
    clock.now = max(jeanne.deadline_at, hers.deadline_at) - timedelta(hours=5)
    return jeanne, hers


def both_channels(tmp_path: Path, services: Services, store: Store,
                  conversation: Conversation) -> tuple[App, FakeBotAPI, FakeGraphAPI]:
    """An app on Telegram and WhatsApp, and the fakes of both platforms."""
    settings = load_settings(
        database=str(tmp_path / "chatshop.db"), telegram_token=TELEGRAM_TOKEN,
        whatsapp_token=TOKEN, whatsapp_phone_number_id=PHONE_NUMBER_ID,
        whatsapp_app_secret="s3cret", whatsapp_verify_token="verify-me",
        whatsapp_port=free_port(), web_enabled=False)
    app = App(settings, store, services, conversation, delivery_of(services, conversation))
    telegram, graph = FakeBotAPI(), FakeGraphAPI()
    telegram.user(3000, "Jeanne", started=True)
    return app, telegram, graph


async def serve_until_both_reminded(app: App, telegram: FakeBotAPI, graph: FakeGraphAPI,
                                    *, then: float) -> None:
    """``app.serve`` on both channels until Jeanne (Telegram) and Léa (WhatsApp) got a
    message, and ``then`` seconds more; then stopped."""
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(
        app, stop, telegram={"request": telegram.request(),
                             "get_updates_request": telegram.request()},
        whatsapp={"session": httpx.AsyncClient(transport=graph.transport())}))
    try:
        await telegram.wait_for(lambda: telegram.sent_to(3000))
        await graph.wait_for(lambda: graph.messages_to(LEA_WA))
        await asyncio.sleep(then)
    finally:
        stop.set()
        await serving


async def test_both_channels_on_one_scheduler_remind_each_reservation_once(
        tmp_path: Path, territory: Territory, services: Services, store: Store,
        clock: FakeClock, conversation: Conversation,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Both channels served, the sweep every 10 ms: each customer is reminded once."""
    jeanne, hers = await two_reservations_due_for_a_reminder(territory, services, clock)
    monkeypatch.setattr(runtime, "SWEEP_EVERY", 0.01)
    monkeypatch.setattr(runtime, "OUTBOX_EVERY", 0.01)
    app, telegram, graph = both_channels(tmp_path, services, store, conversation)
    await serve_until_both_reminded(app, telegram, graph, then=0.5)  # some fifty sweeps more
    to_jeanne = [c.params.get("text", "") for c in telegram.sent_to(3000)]
    assert len(to_jeanne) == 1
    assert jeanne.code in to_jeanne[0]
    assert "Rappel" in to_jeanne[0]
    (to_lea,) = graph.messages_to(LEA_WA)  # outside her window: the template
    assert to_lea.type == "template"
    assert hers.code in str(to_lea.payload)
    for reservation in (jeanne, hers):
        reminded = await services.reservations.get(reservation.id)
        assert reminded is not None
        assert reminded.reminded_at is not None


async def test_the_sweep_runs_once_per_process_with_both_channels_on(
        tmp_path: Path, territory: Territory, services: Services, store: Store,
        clock: FakeClock, conversation: Conversation,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: Telegram's job queue and WhatsApp's own loop each swept at start, then
    each every minute."""
    await two_reservations_due_for_a_reminder(territory, services, clock)
    sweeps = 0
    expire_overdue = services.reservations.expire_overdue

    async def counted() -> list[Reservation]:
        nonlocal sweeps
        sweeps += 1
        return await expire_overdue()

    monkeypatch.setattr(services.reservations, "expire_overdue", counted)
    app, telegram, graph = both_channels(tmp_path, services, store, conversation)
    await serve_until_both_reminded(app, telegram, graph, then=1.0)
    assert sweeps == 1


async def test_what_waited_in_the_outbox_goes_through_each_platform_s_own_job(
        tmp_path: Path, territory: Territory, services: Services, store: Store,
        conversation: Conversation, monkeypatch: pytest.MonkeyPatch) -> None:
    """Queued before the start (a stop, a crash), nothing kicks them: the outbox job of
    each platform the process serves finds them."""
    monkeypatch.setattr(runtime, "OUTBOX_EVERY", 0.01)
    await services.customers.seen("whatsapp", LEA_WA, "Léa")
    for channel, user_id in (("telegram", "3000"), ("whatsapp", LEA_WA)):
        note = Reply(text=f"Votre commande vous attend ({channel}).")
        await services.delivery.queue([(channel, user_id, note.model_dump_json(), None)])
    app, telegram, graph = both_channels(tmp_path, services, store, conversation)
    graph.user_wrote(LEA_WA)  # inside her window: the message as it is
    await serve_until_both_reminded(app, telegram, graph, then=0.0)
    assert telegram.sent_to(3000)[0].params["text"] == "Votre commande vous attend (telegram)."
    assert graph.messages_to(LEA_WA)[0].text == "Votre commande vous attend (whatsapp)."


async def test_two_sweeps_at_once_remind_once_and_the_row_is_written_with_the_claim(
        territory: Territory, services: Services, store: Store, clock: FakeClock,
        conversation: Conversation) -> None:
    jeanne, hers = await two_reservations_due_for_a_reminder(territory, services, clock)
    first, second = delivery_of(services, conversation), delivery_of(services, conversation)
    reminded = await asyncio.gather(first.sweep(), second.sweep(), first.sweep())
    assert sorted(r.id for batch in reminded for r in batch) == sorted([jeanne.id, hers.id])
    # Nothing delivered yet (no platform here), as after a kill right after the sweep:
    # each reminder waits in the outbox, once.
    assert await services.delivery.waiting_count("telegram") == 1
    assert await services.delivery.waiting_count("whatsapp") == 1
    again = delivery_of(services, conversation)  # the next start
    platform = Collecting("telegram")
    again.register(platform)
    assert await again.outbox.deliver("telegram") == 1
    (message,) = platform.sent
    assert message.recipient == "3000"
    assert jeanne.code in message.reply.text
    assert await again.sweep() == []
    assert await again.outbox.deliver("telegram") == 0


async def test_a_sweep_that_dies_before_its_commit_reminds_at_the_next_one(
        territory: Territory, services: Services, store: Store, clock: FakeClock,
        conversation: Conversation, monkeypatch: pytest.MonkeyPatch) -> None:
    """The outbox row and the claim are one transaction: a failure while writing the
    rows (the process dying there) leaves the reminders due, not marked and lost."""
    jeanne, _hers = await two_reservations_due_for_a_reminder(territory, services, clock)
    delivery = delivery_of(services, conversation)
    original = delivery._reminder

    async def dies_on_the_second(reservation: Reservation) -> object:
        if reservation.id != jeanne.id:
            raise SystemExit("killed")
        return await original(reservation)

    monkeypatch.setattr(delivery, "_reminder", dies_on_the_second)
    with pytest.raises(SystemExit):
        await delivery.sweep()
    assert (await services.reservations.get(jeanne.id)).reminded_at is None  # type: ignore[union-attr]
    assert await services.delivery.waiting_count("telegram") == 0
    monkeypatch.undo()
    assert len(await delivery_of(services, conversation).sweep()) == 2


@pytest.mark.parametrize(("answer", "status"), [
    (Sent("m1"), "sent"), (Refused("400 bad"), "refused"), (Gone("403 blocked"), "gone")])
async def test_the_outbox_records_what_the_platform_says(
        territory: Territory, services: Services, store: Store, clock: FakeClock,
        conversation: Conversation, answer: Outcome, status: str) -> None:
    await two_reservations_due_for_a_reminder(territory, services, clock)
    delivery = delivery_of(services, conversation)
    platform = Collecting("telegram")
    platform.answer = answer
    delivery.register(platform)
    await delivery.sweep()
    await delivery.outbox.deliver("telegram")
    assert platform.sent[0].recipient == "3000"  # Jeanne's reminder
    assert await services.delivery.waiting_count("telegram") == 0  # done with, each way
    jeanne = await services.customers.get(territory.customer.id)
    assert jeanne is not None
    assert (jeanne.unreachable_at is not None) == (status == "gone")
    # Gone: the shop is told that its customer could not be reminded.
    told = [m for m in platform.sent[1:] if m.recipient == "2000"]
    assert len(told) == (1 if status == "gone" else 0)
    if told:
        assert "bloqué" in told[0].reply.text


async def test_later_keeps_the_message_and_everyone_stops_the_round(
        territory: Territory, services: Services, store: Store, clock: FakeClock,
        conversation: Conversation) -> None:
    await two_reservations_due_for_a_reminder(territory, services, clock)
    delivery = delivery_of(services, conversation)
    platform = Collecting("telegram")
    platform.answer = Later("429 Too Many Requests", wait=3.0, everyone=True)
    delivery.register(platform)
    await delivery.sweep()
    assert await delivery.outbox.deliver("telegram") == 0
    assert await services.delivery.waiting_count("telegram") == 1
    assert await services.delivery.due("telegram") == []  # not before its 3 s
    clock.now += timedelta(seconds=3)
    platform.answer = Sent("m2")
    assert await delivery.outbox.deliver("telegram") == 1


def test_every_job_is_scheduled_once_per_process_and_per_platform(
        services: Services, conversation: Conversation) -> None:
    jobs = runtime_of(services, conversation, Collecting("telegram"),
                      Collecting("whatsapp")).jobs()
    assert sorted(job.name for job in jobs) == [
        "alerts", "clean-up", "digest:telegram", "digest:whatsapp", "mornings",
        "outbox:telegram", "outbox:whatsapp", "pickup-reminders", "sweep", "weekly-figures"]


async def test_a_stop_ends_a_digest_run_whose_platform_says_later_at_once(
        territory: Territory, services: Services, clock: FakeClock,
        conversation: Conversation) -> None:
    """Before: the stop waited for the jobs, and the digest job for its whole run: a
    platform out of reach held the process for ever."""
    people, run_id = await subscribers_with_news(territory, clock, 3, first=5000)
    telegram = Collecting("telegram")
    telegram.answer = Later("Timed out", wait=60.0)
    delivery = runtime_of(services, conversation, telegram)
    scheduler = Scheduler(delivery.jobs())
    scheduler.start()
    await asyncio.sleep(runtime.DIGEST_FIRST + 0.2)  # the digest job is waiting on it
    assert len(telegram.sent) == 1
    started = asyncio.get_running_loop().time()
    delivery.stopping()
    await scheduler.stop()
    await delivery.stop()
    assert asyncio.get_running_loop().time() - started < 1.0
    report = await services.digest.report(run_id)
    assert report.pending == len(people)  # nobody marked: all of it goes at the next start


async def test_a_platform_that_stays_out_of_reach_pauses_the_run_not_the_others(
        territory: Territory, services: Services, clock: FakeClock,
        conversation: Conversation, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(broadcast, "LATER_WAIT", 0.01)
    _people, run_id = await subscribers_with_news(territory, clock, 3, first=5000)
    telegram = Collecting("telegram")
    telegram.answer = Later("Bad Gateway")
    delivery = runtime_of(services, conversation, telegram)
    (report,) = await delivery.broadcast.deliver(telegram)
    assert len(telegram.sent) == broadcast.LATER_TRIES  # the first subscriber's tries
    assert report.pending == 3
    telegram.answer = Sent()
    (report,) = await delivery.broadcast.deliver(telegram)  # the job's next look
    assert (report.sent, report.pending) == (3, 0)
    assert (await services.digest.report(run_id)).sent == 3


async def test_the_console_gets_its_reminders_through_the_runtime(
        territory: Territory, services: Services, clock: FakeClock, store: Store) -> None:
    from chatshop.channels.console import ConsolePlatform

    console_user = await services.customers.seen("console", "client", "Jeanne")
    honey = await territory.product("Miel", 850, on_hand=5)
    made = await services.reservations.reserve_now(console_user.id, honey.id, 1, "k")
    clock.now = made.deadline_at - timedelta(hours=1)
    conversation = Conversation(services, territory="Pays test",
                                tz=ZoneInfo("Europe/Paris"))
    delivery = delivery_of(services, conversation)
    console = ConsolePlatform()
    delivery.register(console)
    await delivery.sweep()
    await delivery.outbox.deliver("console")
    (reminder,) = console.take()
    assert made.code in reminder.text
    assert reminder.to is not None
    assert reminder.to.user_id == "client"


async def test_the_sweep_reminds_then_expires_and_tells_the_customer(
        territory: Territory, services: Services, conversation: Conversation,
        clock: FakeClock) -> None:
    telegram = Collecting("telegram")
    delivery = runtime_of(services, conversation, telegram)
    honey = await territory.product("Miel", 950, on_hand=5)
    made = await services.reservations.reserve_now(territory.customer.id, honey.id, 2, "k")
    assert await swept(delivery, telegram) == []
    clock.advance(hours=43)
    (reminder,) = await swept(delivery, telegram)
    assert reminder.to is not None
    assert reminder.to.user_id == "3000"
    assert made.code in reminder.text
    assert await swept(delivery, telegram) == []  # reminded once
    clock.advance(hours=6)
    (expired,) = await swept(delivery, telegram)
    assert made.code in expired.text
    assert (await services.catalogue.product(honey.id)).reserved == 0

