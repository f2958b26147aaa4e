"""One person's events one at a time and in order; different people side by side."""

import asyncio

from chatshop.conversation.turns import Turns


async def test_one_key_takes_turns_in_order_and_others_run_meanwhile() -> None:
    turns: Turns[str] = Turns()
    seen: list[str] = []

    async def work(key: str, name: str, pause: float) -> None:
        async with turns.of(key):
            seen.append(f"{name} starts")
            await asyncio.sleep(pause)
            seen.append(f"{name} ends")

    await asyncio.gather(work("jeanne", "j1", 0.02), work("jeanne", "j2", 0),
                         work("lea", "l1", 0))
    assert seen.index("j1 ends") < seen.index("j2 starts")  # in order, one at a time
    assert seen.index("l1 ends") < seen.index("j1 ends")  # Léa did not wait for Jeanne
    assert len(turns) == 0  # nothing kept once idle


async def test_a_turn_given_up_while_waiting_or_failing_leaves_nothing_behind() -> None:
    turns: Turns[str] = Turns()
    holding = asyncio.Event()
    release = asyncio.Event()

    async def first() -> None:
        async with turns.of("jeanne"):
            holding.set()
            await release.wait()
            raise ValueError("the handler failed")

    async def second() -> None:
        async with turns.of("jeanne"):
            raise AssertionError("a cancelled waiter must never get its turn")

    holder = asyncio.create_task(first())
    await holding.wait()
    waiter = asyncio.create_task(second())
    await asyncio.sleep(0)
    waiter.cancel()  # e.g. the update's task cancelled at shutdown
    release.set()
    results = await asyncio.gather(holder, waiter, return_exceptions=True)
    assert isinstance(results[0], ValueError)
    assert isinstance(results[1], asyncio.CancelledError)
    assert len(turns) == 0
    async with turns.of("jeanne"):  # and the next one gets it at once
        pass
