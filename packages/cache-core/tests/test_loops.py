"""``LoopLocal``: one state per event loop, closed while its loop shuts down; ``SharedState``: one for all."""

from __future__ import annotations

import asyncio
import threading

from cache_core import LoopLocal, SharedState


class State:
    def __init__(self, number: int) -> None:
        self.number = number
        self.loop: asyncio.AbstractEventLoop | None = None
        self.closed_on: asyncio.AbstractEventLoop | None = None


def _local(first: State | None = None) -> tuple[LoopLocal[State], list[State]]:
    made: list[State] = []

    def make() -> State:
        made.append(State(len(made) + 1))
        return made[-1]

    async def close(state: State) -> None:
        state.closed_on = asyncio.get_running_loop()

    return LoopLocal(make, close, first=first), made


def test_each_loop_gets_its_own_state_closed_as_the_loop_ends() -> None:
    first = State(0)
    local, made = _local(first)
    seen = []

    async def use() -> None:
        state = local.get()
        assert local.get() is state  # the same for every call on this loop
        state.loop = asyncio.get_running_loop()
        seen.append(state)

    for _ in range(3):
        asyncio.run(use())
    assert seen == [first, *made]  # the first loop took the state given, the others made theirs
    assert len(made) == 2
    assert all(state.closed_on is state.loop for state in seen)  # closed on its own loop, before it closed


def test_threads_running_loops_at_once_each_get_one_state() -> None:
    local, made = _local()
    barrier = threading.Barrier(4)
    found: dict[int, list[int]] = {}

    def thread(index: int) -> None:
        async def body() -> list[int]:
            numbers = []
            for _ in range(200):
                numbers.append(local.get().number)
                if len(numbers) == 1:
                    barrier.wait()  # every loop holds its state at the same time
                await asyncio.sleep(0)
            return numbers

        found[index] = asyncio.run(body())

    threads = [threading.Thread(target=thread, args=(index,)) for index in range(4)]
    for each in threads:
        each.start()
    for each in threads:
        each.join(10)
    assert len(made) == 4
    assert sorted(numbers[0] for numbers in found.values()) == [1, 2, 3, 4]
    assert all(len(set(numbers)) == 1 for numbers in found.values())  # one state per loop, for its whole life
    assert all(state.closed_on is not None for state in made)


def test_a_loop_closed_without_shutdown_is_dropped_on_the_next_loop() -> None:
    local, made = _local()
    loop = asyncio.new_event_loop()

    async def number() -> int:
        return local.get().number

    assert loop.run_until_complete(number()) == 1
    loop.close()
    assert asyncio.run(number()) == 2
    assert made[0].closed_on is None  # its loop was gone: nothing could run on it


def test_aclose_closes_the_calling_loops_state_now_and_an_unused_first() -> None:
    unused = State(0)
    local, made = _local(unused)
    asyncio.run(local.aclose())
    assert unused.closed_on is not None

    async def use_then_close() -> State:
        state = local.get()
        await local.aclose()
        assert state.closed_on is asyncio.get_running_loop()
        return state

    asyncio.run(use_then_close())
    assert len(made) == 1


def test_shared_state_is_one_state_for_everyone() -> None:
    closed: list[int] = []
    shared = SharedState(lambda: 1, closed.append)
    assert shared.get() == shared.peek() == 1
    shared.close()
    assert closed == [1]
