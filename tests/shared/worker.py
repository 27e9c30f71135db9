"""One process of a group sharing limits through Redis, for the multi-process tests.

``python worker.py CONFIG_JSON``: builds a client of the fake with shared limits, prints
``ready``, waits for a line on stdin, then runs ``callers`` concurrent callers making
``calls`` calls between them and prints one JSON line: each call's exchange as (start,
end) wall-clock seconds, and the errors by type. Log lines go to stderr.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from typing import Any

from runsignup_async import Client, RateLimit, ResponseEvent, RetryPolicy, V2KeyAuth
from runsignup_async import _constants as C


async def run(config: dict[str, Any]) -> dict[str, Any]:
    # The lease time is a module default; a short one keeps the kill test short.
    C.LEASE_SECONDS = config.get("lease", C.LEASE_SECONDS)  # type: ignore[misc]
    spans: list[tuple[float, float]] = []
    errors: list[str] = []

    async def on_response(event: ResponseEvent) -> None:
        if event.error is None:
            end = time.time()
            spans.append((end - event.elapsed, end))

    client = Client(
        V2KeyAuth(config["key"], config["secret"]),
        base_url=config["base_url"],
        rate_limit=RateLimit(
            per_second=config["per_second"], burst=config["burst"], adaptive=config["adaptive"]
        ),
        max_concurrency=config["max_concurrency"],
        retry=RetryPolicy(max_attempts=8, backoff_initial=0.05, backoff_max=0.5),
        shared_limits=config["redis"],
        shared_limits_key=config["group"],
        on_response=on_response,
    )
    race_id, day_id = config["day"]
    left = config["calls"]

    async def caller() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            try:
                if config.get("endpoint") == "albums":
                    await client.photos.get_albums(race_id=race_id, race_event_days_id=day_id)
                else:
                    await client.photos.get_photos(
                        race_id=race_id, race_event_days_id=day_id, page=1, num=10
                    )
            except Exception as exc:  # the test asserts there are none
                errors.append(type(exc).__name__)

    async with client:
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        await asyncio.gather(*(caller() for _ in range(config["callers"])))
        snapshot = await client.limits_snapshot()
    return {"spans": spans, "errors": errors, "clients": snapshot.clients}


def main() -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(message)s")
    result = asyncio.run(run(json.loads(sys.argv[1])))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
