"""Walking page/num against the fake server over loopback: exact sets, caps, shifts, resume."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from runsignup_async import (
    Client,
    InvalidRequestError,
    PagePosition,
    Photo,
    RaceDay,
    RateLimit,
    RetryPolicy,
    ServerError,
    ValidationError,
)
from runsignup_async.testing import FakeRunSignup, Fault

NUM = 10


def client_for(fake: FakeRunSignup, **kw: object) -> Client:
    return Client(
        fake.v2_auth(),
        base_url=fake.base_url,
        rate_limit=RateLimit(per_second=10_000, burst=1000),
        max_concurrency=8,
        retry=RetryPolicy(max_attempts=2, backoff_initial=0.001, backoff_max=0.01),
        **kw,  # type: ignore[arg-type]
    )


def ids_of(fake: FakeRunSignup, race_id: int, days_id: int) -> set[int]:
    return {p["photo_id"] for p in fake.photos(race_id, days_id)}


@pytest.fixture
async def fake() -> AsyncIterator[FakeRunSignup]:
    async with FakeRunSignup(seed=11, races=0) as server:
        yield server


@pytest.mark.parametrize("count", [0, 1, NUM - 1, NUM, NUM + 1, 10 * NUM])
async def test_exact_set_of_photos(fake: FakeRunSignup, count: int) -> None:
    day = fake.add_race_day(7001, photos=count)
    async with client_for(fake) as client:
        walk = client.photos.iter_photos(
            race_id=day.race_id, race_event_days_id=day.race_event_days_id, num=NUM
        )
        got = [photo async for photo in walk]
    ids = [p.photo_id for p in got]
    assert len(ids) == len(set(ids)) == count
    assert set(ids) == ids_of(fake, day.race_id, day.race_event_days_id)
    assert all(p.race_id == day.race_id for p in got)
    # Walked to the first empty page: every full page, a partial one if any, then the end.
    pages_with_photos = -(-count // NUM)
    assert fake.request_counts["get-race-photos"] == pages_with_photos + 1
    assert walk.position.next_page == pages_with_photos + 1


async def test_a_server_that_silently_caps_num_loses_nothing() -> None:
    async with FakeRunSignup(seed=12, races=0, max_page_size=7) as fake:
        day = fake.add_race_day(7002, photos=45)
        async with client_for(fake) as client:
            got = [
                p
                async for p in client.photos.iter_photos(
                    race_id=day.race_id, race_event_days_id=day.race_event_days_id, num=20
                )
            ]
        # 45 photos in pages of 7 (not 20): the short pages are not mistaken for the end.
        assert sorted(p.photo_id for p in got) == sorted(day.photo_ids)
        assert fake.request_counts["get-race-photos"] == 7 + 1


@pytest.mark.parametrize("prefetch", [0, 3])
async def test_awaiting_gives_the_first_page_and_pages_iterates_pages(
    fake: FakeRunSignup, prefetch: int
) -> None:
    day = fake.add_race_day(7003, photos=25)
    async with client_for(fake) as client:
        walk = client.photos.iter_photos(
            race_id=day.race_id, race_event_days_id=day.race_event_days_id, num=NUM,
            prefetch=prefetch,
        )  # fmt: skip
        first = await walk
        pages = [page async for page in walk.pages()]
    assert [len(page) for page in pages] == [10, 10, 5]
    assert [p.photo_id for p in first] == [p.photo_id for p in pages[0]]
    assert sorted(p.photo_id for page in pages for p in page) == sorted(day.photo_ids)


async def test_prefetch_keeps_pages_in_flight_ahead_and_stops_at_the_end(
    fake: FakeRunSignup,
) -> None:
    day = fake.add_race_day(7004, photos=50)
    fake.latency = 0.05
    async with client_for(fake) as client:
        walk = client.photos.iter_photos(
            race_id=day.race_id, race_event_days_id=day.race_event_days_id, num=NUM, prefetch=3
        )
        got = [p async for p in walk]
    assert sorted(p.photo_id for p in got) == sorted(day.photo_ids)
    # 5 pages, the empty 6th, and at most 3 speculative pages beyond it (all cancelled
    # or answered empty): never a runaway walk.
    assert 6 <= fake.request_counts["get-race-photos"] <= 6 + 3


async def test_uploads_shifting_the_pages_mid_walk_neither_duplicate_nor_lose() -> None:
    async with FakeRunSignup(seed=13, races=0, photo_order="newest_first") as fake:
        day = fake.add_race_day(7005, photos=6 * NUM)
        before = set(day.photo_ids)
        async with client_for(fake) as client:
            seen: list[int] = []
            async for page in client.photos.iter_photos(
                race_id=day.race_id, race_event_days_id=day.race_event_days_id, num=NUM
            ).pages():
                seen += [p.photo_id for p in page]
                # New uploads land on page 1 and push every older photo one page later.
                fake.add_photos(day.race_id, day.race_event_days_id, NUM // 2 + 1)
        assert len(seen) == len(set(seen)), "a photo was yielded twice"
        assert before <= set(seen), "a photo present before the walk was missed"


async def test_resuming_after_an_injected_failure_yields_the_rest_exactly_once(
    fake: FakeRunSignup,
) -> None:
    day = fake.add_race_day(7006, photos=5 * NUM)
    # Page 3's request fails on both attempts the client makes, then the server recovers.
    fake.faults.add(Fault.status(500), endpoint="get-race-photos", skip=2, times=2)
    async with client_for(fake) as client:
        walk = client.photos.iter_photos(
            race_id=day.race_id, race_event_days_id=day.race_event_days_id, num=NUM
        )
        first_run: list[int] = []

        async def collect() -> None:
            async for photo in walk:
                first_run.append(photo.photo_id)

        with pytest.raises(ServerError):
            await collect()
        saved = walk.position
        assert saved.next_page == 3
        assert saved.max_uploaded_ts is not None
        resumed = client.photos.iter_photos(
            race_id=day.race_id, race_event_days_id=day.race_event_days_id, num=NUM, start=saved
        )
        second_run = [p.photo_id async for p in resumed]
    assert len(first_run) == 2 * NUM
    counts = Counter(first_run + second_run)
    assert set(counts) == set(day.photo_ids)
    assert set(counts.values()) == {1}


def _is_client_side(task: asyncio.Task[object]) -> bool:
    # The fake server's connection handlers live in this loop too; they are not ours.
    code = getattr(task.get_coro(), "cr_code", None)
    return code is None or "aiohttp/web" not in code.co_filename


async def _other_tasks(settle: int = 5) -> set[asyncio.Task[object]]:
    """Client-side tasks still pending after ``settle`` turns of the loop (no real time)."""
    pending: set[asyncio.Task[object]] = set()
    for _ in range(settle):  # let finalisers scheduled by the loop run
        await asyncio.sleep(0)
        pending = {
            t
            for t in asyncio.all_tasks()
            if t is not asyncio.current_task() and not t.done() and _is_client_side(t)
        }
        if not pending:
            break
    return pending


async def test_break_out_of_iter_many_leaves_no_pending_task(fake: FakeRunSignup) -> None:
    days = [fake.add_race_day(7100 + n, photos=3 * NUM) for n in range(6)]
    fake.latency = 0.02
    before = await _other_tasks()
    async with client_for(fake) as client:
        async with client.photos.iter_many(
            [(d.race_id, d.race_event_days_id) for d in days], concurrency=4, num=NUM
        ) as photos:
            async for _ in photos:
                break
        assert await _other_tasks() == before
        # Without `async with`, the garbage collector closes the dropped walk: it takes a
        # few more turns of the loop (no real time), and then nothing is left running.
        async for _ in client.photos.iter_many(
            [(d.race_id, d.race_event_days_id) for d in days], concurrency=4, num=NUM
        ):
            break
        assert await _other_tasks(settle=50) == before
        sent = fake.request_counts["get-race-photos"]
        await asyncio.sleep(0.1)
        assert fake.request_counts["get-race-photos"] == sent


async def test_break_out_of_a_prefetching_walk_leaves_no_pending_task(
    fake: FakeRunSignup,
) -> None:
    day = fake.add_race_day(7007, photos=10 * NUM)
    # Page 1 answers at once; the prefetched pages are still in flight at the break.
    fake.faults.add(Fault.slow(0.5), endpoint="get-race-photos", skip=1)
    before = await _other_tasks()
    async with client_for(fake) as client:
        async for _ in client.photos.iter_photos(
            race_id=day.race_id, race_event_days_id=day.race_event_days_id, num=NUM, prefetch=4
        ):
            break
        assert await _other_tasks() == before
        assert fake.request_counts["get-race-photos"] == 1 + 4


async def test_cancellation_stops_every_request_and_leaves_no_task(fake: FakeRunSignup) -> None:
    days = [fake.add_race_day(7200 + n, photos=4 * NUM) for n in range(6)]
    fake.latency = 0.05
    before = await _other_tasks()
    started = asyncio.Event()

    async def consume(client: Client) -> None:
        async for _ in client.photos.iter_many(
            [(d.race_id, d.race_event_days_id) for d in days], concurrency=4, num=NUM
        ):
            started.set()

    async with client_for(fake) as client:
        task = asyncio.create_task(consume(client))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await _other_tasks() == before
        sent = fake.request_counts["get-race-photos"]
        await asyncio.sleep(0.15)  # nothing keeps walking behind our back
        assert fake.request_counts["get-race-photos"] == sent


async def test_an_exception_in_the_consumer_stops_the_walk(fake: FakeRunSignup) -> None:
    days = [fake.add_race_day(7300 + n, photos=2 * NUM) for n in range(4)]
    before = await _other_tasks()
    async with client_for(fake) as client:

        async def consume() -> None:
            async with client.photos.iter_many(
                [(d.race_id, d.race_event_days_id) for d in days], concurrency=2, num=NUM
            ) as photos:
                async for _ in photos:
                    raise RuntimeError("consumer failed")

        with pytest.raises(RuntimeError, match="consumer"):
            await consume()
        assert await _other_tasks() == before


async def test_iter_many_skip_reports_the_failed_race_and_completes_the_others(
    fake: FakeRunSignup,
) -> None:
    good = [fake.add_race_day(7400 + n, photos=15) for n in range(3)]
    missing = RaceDay(999_999, 888_888)  # the fake answers error 15 for it
    races = [RaceDay(good[0].race_id, good[0].race_event_days_id), missing] + [
        (d.race_id, d.race_event_days_id) for d in good[1:]
    ]
    async with client_for(fake) as client:
        walk = client.photos.iter_many(races, concurrency=2, on_error="skip", num=NUM)
        got = [p async for p in walk]
    expected = set().union(*(set(d.photo_ids) for d in good))
    assert {p.photo_id for p in got} == expected
    assert len(got) == len(expected)
    assert list(walk.report.failures) == [missing]
    assert isinstance(walk.report.failures[missing], InvalidRequestError)
    assert walk.report.failures[missing].error_code == 15
    assert sorted(d.race_id for d in walk.report.completed) == sorted(d.race_id for d in good)
    for day in good:
        key = RaceDay(day.race_id, day.race_event_days_id)
        newest = max(p.uploaded_ts for p in got if p.race_id == day.race_id)
        assert walk.report.max_uploaded_ts[key] == newest


async def test_iter_many_raise_surfaces_the_first_failure(fake: FakeRunSignup) -> None:
    good = fake.add_race_day(7500, photos=5)
    async with client_for(fake) as client:
        with pytest.raises(InvalidRequestError):
            async for _ in client.photos.iter_many(
                [(good.race_id, good.race_event_days_id), (999_999, 888_888)], concurrency=2
            ):
                pass


async def test_iter_many_resumes_race_days_from_their_positions(fake: FakeRunSignup) -> None:
    day = fake.add_race_day(7600, photos=4 * NUM)
    other = fake.add_race_day(7601, photos=NUM)
    fake.faults.add(Fault.status(503), endpoint="get-race-photos", skip=1, times=2)
    races = [RaceDay(day.race_id, day.race_event_days_id)]
    async with client_for(fake) as client:
        first = client.photos.iter_many(races, concurrency=1, on_error="skip", num=NUM)
        got = [p.photo_id async for p in first]
        assert len(got) == NUM
        positions = first.report.positions
        assert positions[races[0]] == PagePosition(2, max(
            p.uploaded_ts for p in await client.photos.get_photos(
                race_id=day.race_id, race_event_days_id=day.race_event_days_id, num=NUM
            )
        ))  # fmt: skip
        again = client.photos.iter_many(
            [*races, (other.race_id, other.race_event_days_id)], positions=positions, num=NUM
        )
        got += [p.photo_id async for p in again]
    assert Counter(got) == Counter(day.photo_ids + other.photo_ids)


async def test_one_huge_race_does_not_starve_the_others(fake: FakeRunSignup) -> None:
    huge = fake.add_race_day(7700, photos=30 * NUM)
    small = [fake.add_race_day(7710 + n, photos=NUM) for n in range(4)]
    races = [(huge.race_id, huge.race_event_days_id)] + [
        (d.race_id, d.race_event_days_id) for d in small
    ]
    async with client_for(fake) as client:
        order = [p.race_id async for p in client.photos.iter_many(races, concurrency=2, num=NUM)]
    last_small = max(i for i, race_id in enumerate(order) if race_id != huge.race_id)
    # Listed in order without fairness, the small races would come after all 300 of the
    # huge race's photos. With one worker each, they share requests evenly (a small race
    # costs two requests a page of photos: its page and the empty end page), so all of
    # them are done before the huge race is half listed.
    huge_before = sum(1 for race_id in order[:last_small] if race_id == huge.race_id)
    assert huge_before < len(huge.photo_ids) // 2


async def test_iter_many_takes_an_async_iterable_of_races(fake: FakeRunSignup) -> None:
    days = [fake.add_race_day(7800 + n, photos=3) for n in range(3)]

    async def races() -> AsyncIterator[RaceDay]:
        for d in days:
            yield RaceDay(d.race_id, d.race_event_days_id)

    async with client_for(fake) as client:
        got = [p.photo_id async for p in client.photos.iter_many(races(), concurrency=2)]
    assert sorted(got) == sorted(pid for d in days for pid in d.photo_ids)


async def test_iter_albums_many_lists_every_race_days_albums(fake: FakeRunSignup) -> None:
    days = [fake.add_race_day(7900 + n, photos=3, albums=2) for n in range(3)]
    async with client_for(fake) as client:
        albums = [
            a
            async for a in client.photos.iter_albums_many(
                [(d.race_id, d.race_event_days_id) for d in days]
            )
        ]
    assert sorted((a.race_event_days_id, str(a.album_id)) for a in albums) == sorted(
        (d.race_event_days_id, str(album)) for d in days for album in d.album_ids
    )


@pytest.mark.parametrize(
    ("races", "kwargs", "field"),
    [
        ([(1, 0)], {}, "race_event_days_id"),
        ([(1, 2, 3)], {}, "races"),
        (["1:2"], {}, "races"),
        ([(1, 2)], {"concurrency": 0}, "concurrency"),
        ([(1, 2)], {"on_error": "ignore"}, "on_error"),
        ([(1, 2)], {"num": 0}, "num"),
    ],
)
async def test_bad_input_is_refused_before_any_request(
    fake: FakeRunSignup, races: list[object], kwargs: dict[str, object], field: str
) -> None:
    async with client_for(fake) as client:
        with pytest.raises(ValidationError) as info:
            client.photos.iter_many(races, **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field
    assert sum(fake.request_counts.values()) == 0


def test_photo_type_is_the_public_model() -> None:
    assert Photo.__module__ == "runsignup_async.models.photos"


async def test_iter_many_reports_a_race_day_only_after_handing_out_its_last_photo(
    fake: FakeRunSignup,
) -> None:
    days = [fake.add_race_day(7500 + n, photos=12) for n in range(4)]
    races = [(d.race_id, d.race_event_days_id) for d in days]
    left = {RaceDay(d.race_id, d.race_event_days_id): len(d.photo_ids) for d in days}
    async with client_for(fake) as client:
        walk = client.photos.iter_many(races, concurrency=4, num=NUM)
        async for photo in walk:
            day = RaceDay(photo.race_id, photo.race_event_days_id)  # type: ignore[arg-type]
            # Its pages all sit in the walk's queue long before the consumer gets here.
            assert day not in walk.report.completed
            left[day] -= 1
            assert all(left[d] == 0 for d in walk.report.completed)
            await asyncio.sleep(0.005)  # a slow consumer: the listings end well ahead
    assert set(walk.report.completed) == set(left) and set(left.values()) == {0}
