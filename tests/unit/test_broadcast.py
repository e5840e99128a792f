from __future__ import annotations

import inspect
import json
from contextlib import AsyncExitStack

import anyio
import pytest

from fast_hot_reload._events.broadcaster import HISTORY, Broadcaster
from fast_hot_reload._events.subscription import Subscription
from fast_hot_reload._protocol import MAX_PATHS, RECENT, Event

pytestmark = pytest.mark.anyio


async def next_with_tick(broadcaster: Broadcaster, subscription: Subscription) -> Event | None:
    """What `subscription.next()` returns when a keepalive tick comes while it waits."""
    results: list[Event | None] = []

    async def wait() -> None:
        results.append(await subscription.next())

    async with anyio.create_task_group() as tg:
        tg.start_soon(wait)
        await anyio.wait_all_tasks_blocked()
        broadcaster.tick()
    return results[0]


async def test_hello_is_json_with_boot_and_version() -> None:
    broadcaster = Broadcaster()
    assert json.loads(broadcaster.hello()) == {"type": "hello", "boot": broadcaster.boot, "version": 0, "recent": []}
    assert len(broadcaster.boot) == 16 and int(broadcaster.boot, 16) >= 0
    broadcaster.publish("reload", ("a.html",))
    hello = json.loads(broadcaster.hello())
    assert hello["version"] == 1
    assert hello["recent"] == [{"version": 1, "type": "reload", "paths": ["a.html"]}]


async def test_hello_carries_the_last_events_only() -> None:
    broadcaster = Broadcaster()
    for n in range(RECENT + 3):
        broadcaster.publish("css", (f"{n}.css",))
    recent = json.loads(broadcaster.hello())["recent"]
    assert [e["version"] for e in recent] == list(range(4, RECENT + 4))


async def test_boot_ids_differ_between_instances() -> None:
    assert Broadcaster().boot != Broadcaster().boot


async def test_publish_bumps_version_and_returns_the_event() -> None:
    broadcaster = Broadcaster()
    assert broadcaster.publish("css", ("a.css",)) == Event(1, "css", ("a.css",))
    assert broadcaster.publish("reload", ("b.html",)) == Event(2, "reload", ("b.html",))
    assert broadcaster.version == 2


async def test_message_is_json_with_relative_paths() -> None:
    broadcaster = Broadcaster()
    event = broadcaster.publish("css", ("static/a.css",))
    assert json.loads(broadcaster.message(event)) == {
        "type": "css",
        "boot": broadcaster.boot,
        "version": 1,
        "paths": ["static/a.css"],
    }


async def test_publish_caps_paths() -> None:
    broadcaster = Broadcaster()
    paths = tuple(f"f{i}.html" for i in range(MAX_PATHS * 3))
    assert broadcaster.publish("reload", paths).paths == paths[:MAX_PATHS]


def test_publish_is_plain_function() -> None:
    # publish() cannot await anything, so it cannot block on a subscriber
    assert not inspect.iscoroutinefunction(Broadcaster.publish)
    assert not inspect.iscoroutinefunction(Broadcaster.close)


@pytest.mark.parametrize("count", [0, 1, 1000])
async def test_publish_never_blocks(count: int) -> None:
    broadcaster = Broadcaster()
    async with AsyncExitStack() as stack:
        subscriptions = [await stack.enter_async_context(broadcaster.subscribe()) for _ in range(count)]
        assert broadcaster.subscribers == count
        with anyio.fail_after(5):
            for i in range(500):  # nobody reads: nothing may pile up or wait
                broadcaster.publish("reload", (f"{i}.html",))
        assert broadcaster.version == 500
        for subscription in subscriptions[:3]:
            event = await subscription.next()
            assert event is not None and (event.version, event.kind) == (500, "reload")
    assert broadcaster.subscribers == 0


async def test_fan_out_to_waiting_subscribers() -> None:
    broadcaster = Broadcaster()
    received: list[Event | None] = []
    count = 50

    async def listen() -> None:
        async with broadcaster.subscribe() as subscription:
            received.append(await subscription.next())

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for _ in range(count):
                tg.start_soon(listen)
            await anyio.wait_all_tasks_blocked()  # every listener is waiting now
            assert broadcaster.subscribers == count and received == []
            broadcaster.publish("reload", ("index.html",))
    assert received == [Event(1, "reload", ("index.html",))] * count
    assert broadcaster.subscribers == 0


async def test_tick_wakes_every_subscriber_without_a_new_version() -> None:
    broadcaster = Broadcaster()
    broadcaster.publish("css", ("a.css",))
    received: list[Event | None] = []
    count = 50

    async def listen() -> None:
        async with broadcaster.subscribe() as subscription:
            received.append(await subscription.next())
            received.append(await subscription.next())
            assert subscription.version == 2

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            for _ in range(count):
                tg.start_soon(listen)
            await anyio.wait_all_tasks_blocked()
            broadcaster.tick()
            await anyio.wait_all_tasks_blocked()  # each one had its keepalive and waits again
            assert received == [None] * count
            assert (broadcaster.version, broadcaster.since(1)) == (1, None)
            broadcaster.publish("reload", ("b.html",))
    assert received[count:] == [Event(2, "reload", ("b.html",))] * count


async def test_a_tick_before_next_is_not_a_keepalive_for_it() -> None:
    # the client sent something since: its next ping is due a whole interval later
    broadcaster = Broadcaster()
    received: list[Event | None] = []
    async with broadcaster.subscribe() as subscription:
        broadcaster.tick()

        async def wait() -> None:
            received.append(await subscription.next())

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(wait)
                await anyio.wait_all_tasks_blocked()
                assert received == []
                broadcaster.publish("css", ("a.css",))
    assert received == [Event(1, "css", ("a.css",))]


@pytest.mark.parametrize("first", ["tick", "publish"])
async def test_no_event_is_lost_when_a_tick_and_a_publish_race(first: str) -> None:
    broadcaster = Broadcaster()
    received: list[Event | None] = []

    async def listen() -> None:
        async with broadcaster.subscribe() as subscription:
            while not received or received[-1] is None:
                received.append(await subscription.next())

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(listen)
            await anyio.wait_all_tasks_blocked()
            # both before the subscriber runs again: it wakes once and gets the event, not a ping
            if first == "tick":
                broadcaster.tick()
            broadcaster.publish("css", ("a.css",))
            if first == "publish":
                broadcaster.tick()
    assert received == [Event(1, "css", ("a.css",))]


async def test_a_publish_just_after_a_keepalive_is_not_lost() -> None:
    broadcaster = Broadcaster()
    async with broadcaster.subscribe() as subscription:
        with anyio.fail_after(5):
            assert await next_with_tick(broadcaster, subscription) is None
            broadcaster.publish("css", ("a.css",))  # while the keepalive was being sent
            assert await next_with_tick(broadcaster, subscription) == Event(1, "css", ("a.css",))


async def test_subscription_starts_at_current_version() -> None:
    broadcaster = Broadcaster()
    broadcaster.publish("reload", ("old.html",))
    async with broadcaster.subscribe() as subscription:
        assert subscription.version == 1
        with anyio.fail_after(5):
            assert await next_with_tick(broadcaster, subscription) is None  # nothing new: a keepalive
            broadcaster.publish("css", ("a.css",))
            assert await subscription.next() == Event(2, "css", ("a.css",))
            assert await next_with_tick(broadcaster, subscription) is None


async def test_missed_css_events_merge_into_one_css() -> None:
    broadcaster = Broadcaster()
    async with broadcaster.subscribe() as subscription:
        broadcaster.publish("css", ("a.css",))
        broadcaster.publish("css", ("b.css", "a.css"))
        assert await subscription.next() == Event(2, "css", ("a.css", "b.css"))


@pytest.mark.parametrize("kinds", [("css", "reload"), ("reload", "css"), ("css", "reload", "css")])
async def test_css_and_reload_merge_into_reload(kinds: tuple[str, ...]) -> None:
    broadcaster = Broadcaster()
    async with broadcaster.subscribe() as subscription:
        for i, kind in enumerate(kinds):
            broadcaster.publish(kind, (f"{i}.{kind}",))  # type: ignore[arg-type]
        event = await subscription.next()
    assert event is not None
    assert (event.version, event.kind) == (len(kinds), "reload")
    assert event.paths == tuple(f"{i}.{kind}" for i, kind in enumerate(kinds))


async def test_history_sized_gap_is_still_css() -> None:
    broadcaster = Broadcaster()
    async with broadcaster.subscribe() as subscription:
        for i in range(HISTORY):
            broadcaster.publish("css", (f"{i}.css",))
        event = await subscription.next()
    assert event is not None and (event.version, event.kind) == (HISTORY, "css")


async def test_gap_bigger_than_history_is_a_reload() -> None:
    broadcaster = Broadcaster()
    async with broadcaster.subscribe() as subscription:
        for i in range(HISTORY + 1):
            broadcaster.publish("css", (f"{i}.css",))
        event = await subscription.next()
    assert event is not None and (event.version, event.kind) == (HISTORY + 1, "reload")


async def test_merged_paths_are_capped() -> None:
    broadcaster = Broadcaster()
    async with broadcaster.subscribe() as subscription:
        for i in range(MAX_PATHS + 10):
            broadcaster.publish("css", (f"{i}.css",))
        event = await subscription.next()
    assert event is not None and len(event.paths) == MAX_PATHS


async def test_since() -> None:
    broadcaster = Broadcaster()
    assert broadcaster.since(0) is None
    broadcaster.publish("css", ("a.css",))
    broadcaster.publish("css", ("b.css",))
    assert broadcaster.since(2) is None
    assert broadcaster.since(5) is None  # a client from the future (other boot) is not sent anything here
    assert broadcaster.since(1) == Event(2, "css", ("b.css",))
    assert broadcaster.since(0) == Event(2, "css", ("a.css", "b.css"))


async def test_close_wakes_waiters() -> None:
    broadcaster = Broadcaster()
    results: list[Event | None] = []

    async def listen() -> None:
        async with broadcaster.subscribe() as subscription:
            results.append(await subscription.next())

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(listen)
            tg.start_soon(listen)
            await anyio.wait_all_tasks_blocked()
            broadcaster.close()
    assert results == [None, None]
    assert broadcaster.closed
    assert broadcaster.subscribers == 0


async def test_next_after_close_returns_at_once() -> None:
    broadcaster = Broadcaster()
    async with broadcaster.subscribe() as subscription:
        broadcaster.close()
        with anyio.fail_after(5):
            assert await subscription.next() is None


async def test_subscribers_count_goes_back_on_error() -> None:
    broadcaster = Broadcaster()
    with pytest.raises(KeyError):
        async with broadcaster.subscribe():
            assert broadcaster.subscribers == 1
            raise KeyError("boom")
    assert broadcaster.subscribers == 0


async def test_subscribers_count_goes_back_on_cancel() -> None:
    broadcaster = Broadcaster()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:

            async def listen() -> None:
                async with broadcaster.subscribe() as subscription:
                    await subscription.next()

            tg.start_soon(listen)
            await anyio.wait_all_tasks_blocked()
            assert broadcaster.subscribers == 1
            tg.cancel_scope.cancel()
    assert broadcaster.subscribers == 0
