"""Structuring cost of a 100-photo page against ``json.loads`` of the same body.

Run: ``python benchmarks/bench_structure.py``. The target (issue 4) is
``photos_from(json.loads(body))`` minus the ``json.loads`` costing no more than 3x the
``json.loads`` alone; the per-photo figure feeds the client's 8 us/photo CPU budget.
Exits 1 when the ratio is above the target, so CI can run it.
"""

from __future__ import annotations

import json
import sys
import timeit

from runsignup_async._shapes import photos_from

PHOTOS_PER_PAGE = 100
TARGET_RATIO = 3.0


def page_body(count: int = PHOTOS_PER_PAGE) -> bytes:
    """A get-race-photos answer shaped like the documented example, escaped slashes and all."""
    photos = []
    for n in range(count):
        name = f"race_21_6568_{n:08d}-ba56-49b5-8812-82b597eef456.jpg"
        photos.append(
            {
                "photo_id": 1000 + n,
                "album_id": 21 if n % 10 else "reg-6568",
                "race_event_days_id": 6568,
                "bibs": [1179 + n, 2000 + n][: 1 + n % 2],
                "original": {
                    "image_url": f"https://rsu-photos-v2-v2prod.s3.amazonaws.com/customOriginal_v3/{name}",
                    "height": 1067,
                    "width": 1600,
                },
                "thumbnail": {
                    "image_url": f"https://rl13photo5788d40734058.s3.amazonaws.com/thumbs_v2/{name}",
                    "height": 200,
                    "width": 300,
                },
                "large": {
                    "image_url": f"https://rsu-photos-v2-v2prod.s3.amazonaws.com/large_watermarked_v3/{name}",
                    "height": 600,
                    "width": 900,
                },
                "uploaded_filename": f"myPhoto{n}.jpg",
                "uploaded_ts": 1593547220 + n,
            }
        )
    # PHP's json_encode escapes slashes; so does RunSignup.
    return json.dumps({"photos": photos}).replace("/", "\\/").encode()


def best_of(stmt: object, number: int, repeat: int) -> float:
    """Best time of one call, in seconds."""
    return min(timeit.repeat(stmt, number=number, repeat=repeat)) / number  # type: ignore[arg-type]


def main() -> int:
    body = page_body()
    assert len(photos_from(json.loads(body))) == PHOTOS_PER_PAGE
    number, repeat = 200, 7
    loads = best_of(lambda: json.loads(body), number, repeat)
    both = best_of(lambda: photos_from(json.loads(body)), number, repeat)
    document = json.loads(body)
    structure = best_of(lambda: photos_from(document), number, repeat)
    ratio = structure / loads
    print(f"body: {len(body)} bytes, {PHOTOS_PER_PAGE} photos; best of {repeat} x {number}")
    print(f"json.loads(body):              {loads * 1e6:8.1f} us")
    print(f"photos_from(document):         {structure * 1e6:8.1f} us")
    print(f"photos_from(json.loads(body)): {both * 1e6:8.1f} us")
    print(f"structuring / json.loads:      {ratio:8.2f}x (target <= {TARGET_RATIO}x)")
    print(f"structuring per photo:         {structure / PHOTOS_PER_PAGE * 1e6:8.2f} us")
    print(f"loads + structuring per photo: {both / PHOTOS_PER_PAGE * 1e6:8.2f} us")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
