"""``client.download``: image bytes streamed from the image host, errors typed, no secret sent."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest

from runsignup_async import (
    Client,
    NotFoundError,
    ServerError,
    TransportError,
    V2KeyAuth,
)
from runsignup_async.testing import FakeRunSignup, Fault


def _url(fake: FakeRunSignup, size: str = "original") -> tuple[int, str]:
    photo_id = next(iter(fake.data.photo_index))
    return photo_id, fake.image_url(photo_id, size)


@pytest.mark.runsignup_fake(seed=4, races=1, photos_per_race_day=2, image_size=600_000)
async def test_streams_the_exact_bytes_in_chunks_with_no_credential(
    fake: FakeRunSignup, client_for: Callable[..., Client]
) -> None:
    photo_id, url = _url(fake)
    client = client_for(fake.v2_auth())
    async with client.download(url) as got:
        assert got.status == 200 and got.content_length == 600_000
        assert got.headers["content-length"] == "600000"  # any case, as HTTP has it
        chunks = [chunk async for chunk in got.chunks]
    assert len(chunks) > 1 and max(map(len, chunks)) <= 256 * 1024
    assert b"".join(chunks) == fake.image_bytes(photo_id, "original")
    assert fake.credential_leaks == []


@pytest.mark.parametrize(("status", "error"), [(404, NotFoundError), (503, ServerError)])
async def test_an_error_status_is_a_typed_error_naming_the_status(
    fake: FakeRunSignup, client_for: Callable[..., Client], status: int, error: type[Exception]
) -> None:
    fake.faults.add(Fault.status(status), endpoint="images", times=1)
    _, url = _url(fake)
    client = client_for(fake.v2_auth())
    with pytest.raises(error, match=f"HTTP {status}") as caught:
        async with client.download(url):
            pytest.fail("an error status must not be handed over as an image")
    assert getattr(caught.value, "status", None) == status


async def test_a_body_cut_off_midway_is_a_transport_error_while_reading(
    fake: FakeRunSignup, client_for: Callable[..., Client]
) -> None:
    fake.faults.add(Fault.truncated(), endpoint="images", times=1)
    _, url = _url(fake)
    client = client_for(fake.v2_auth())
    async with client.download(url) as got:
        assert got.status == 200  # the headers arrived whole
        with pytest.raises(TransportError, match="cut off") as caught:
            async for _ in got.chunks:
                pass
    assert caught.value.request_sent
    # The connection was dropped, not reused: the next download is whole.
    async with client.download(url) as again:
        assert len(b"".join([c async for c in again.chunks])) == again.content_length


async def test_an_unreachable_image_host_was_never_sent_to(
    client_for: Callable[..., Client], fake: FakeRunSignup
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = client_for(V2KeyAuth("key", "secret-value-123"))
    # A pre-signed URL, as S3 hands out: its signature is as good as a password.
    url = f"http://127.0.0.1:{port}/images/1.jpg?X-Amz-Credential=AKIA1&X-Amz-Signature=f00d1e"
    with pytest.raises(TransportError, match="could not connect") as caught:
        async with client.download(url):
            pytest.fail("nothing to hand over")
    assert caught.value.request_sent is False
    assert "AKIA1" not in str(caught.value) and "f00d1e" not in str(caught.value)
    assert caught.value.url is not None and "X-Amz-Signature=***" in caught.value.url


async def test_leaving_a_download_early_frees_its_slot(
    fake: FakeRunSignup, client_for: Callable[..., Client]
) -> None:
    _, url = _url(fake)
    client = client_for(fake.v2_auth(), download_concurrency=1)
    for _ in range(3):  # with one slot, a slot kept by an early exit would hang here
        async with client.download(url) as got:
            async for _chunk in got.chunks:
                break
    async with client.download(url) as got:
        assert len(b"".join([c async for c in got.chunks])) == got.content_length


async def _request_target_of(client: Client, path: str) -> str:
    """Download ``http://127.0.0.1:<port><path>``; the request-target that arrived."""
    targets: list[str] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        targets.append(head.split(b" ", 2)[1].decode("ascii"))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        async with client.download(f"http://127.0.0.1:{port}{path}") as got:
            assert b"".join([c async for c in got.chunks]) == b"abc"
    assert len(targets) == 1
    return targets[0]


@pytest.mark.parametrize(
    "path",
    [
        # CloudFront / GCS style signatures sign the query as written: %2F, %7E, %2B and
        # lowercase escapes must arrive untouched, or the image host answers 403.
        "/i.jpg?X-Amz-Credential=AKIA1%2F20261123%2Fs3%2Faws4_request&X-Amz-Signature=ab",
        "/i.jpg?Policy=eyJ%7E&Signature=ab%2Bcd%3D%3D&Key-Pair-Id=K1",
        "/p%2Fq/caf%c3%a9.jpg?x=%7e",
    ],
)
async def test_an_encoded_image_url_is_sent_exactly_as_given(
    fake: FakeRunSignup, client_for: Callable[..., Client], path: str
) -> None:
    client = client_for(fake.v2_auth())
    assert await _request_target_of(client, path) == path


@pytest.mark.parametrize(
    ("path", "sent"),
    [("/a b.jpg", "/a%20b.jpg"), ("/caf\u00e9.jpg?q=\u00e9", "/caf%C3%A9.jpg?q=%C3%A9")],
)
async def test_an_image_url_with_characters_to_escape_is_escaped(
    fake: FakeRunSignup, client_for: Callable[..., Client], path: str, sent: str
) -> None:
    client = client_for(fake.v2_auth())
    assert await _request_target_of(client, path) == sent
