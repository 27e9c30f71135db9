"""moto's S3 server on loopback, recording every request it answers.

Started once per test session (``ThreadedMotoServer`` on port 0); each test gets a
bucket of its own. obstore speaks to it over real HTTP: moto's in-process mocks would
not see obstore's Rust client. Tests read the bucket back with not
through obstore, so what they check does not depend on the code under test.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import re
import threading
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs
from werkzeug.wrappers import Request

_BUCKETS = itertools.count()


@attrs.frozen
class Seen:
    """One request the server answered: what a credential could have leaked into."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


class Recorder:
    """WSGI middleware in front of moto: keeps every request, body included."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.seen: list[Seen] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        body = request.get_data()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        seen = Seen(request.method, request.path, request.query_string.decode(),
                    dict(request.headers), body)  # fmt: skip
        with self._lock:
            self.seen.append(seen)
        return self.app(environ, start_response)

    def leaks(self, secrets: Iterable[str]) -> list[tuple[str, str]]:
        """(request, secret) for every secret found anywhere in a request."""
        found = []
        for seen in list(self.seen):
            text = " ".join([seen.path, seen.query, *seen.headers.values()])
            for secret in secrets:
                if secret in text or secret.encode() in seen.body:
                    found.append((f"{seen.method} {seen.path}", secret))
        return found


class MotoS3:
    """The running server: its endpoint, the recorder, and unsigned read-back helpers."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        wsgi = self._server._server
        assert wsgi is not None
        self.recorder = Recorder(wsgi.app)
        wsgi.app = self.recorder
        self._client: Any = None

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
        self._server.stop()

    def _call(self, method: str, path: str, data: bytes | None = None) -> bytes:
        # Not urllib's default form type: moto would parse the body as a form and lose it.
        headers = {"Content-Type": "text/plain"}
        request = urllib.request.Request(self.endpoint + path, data, headers, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            body: bytes = response.read()
        return body

    def _s3(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client(
                "s3", endpoint_url=self.endpoint, region_name="us-east-1",
                aws_access_key_id="reader", aws_secret_access_key="reader-secret",
            )  # fmt: skip
        return self._client

    def new_bucket(self) -> str:
        name = f"harvest-{next(_BUCKETS)}"
        self._s3().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> dict[str, int]:
        """Every object under ``prefix``: key -> size."""
        found: dict[str, int] = {}
        pages = self._s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            found.update((item["Key"], item["Size"]) for item in page.get("Contents", ()))
        return found

    def get(self, bucket: str, key: str) -> bytes:
        body = self._s3().get_object(Bucket=bucket, Key=key)["Body"]
        with contextlib.closing(body):
            data: bytes = body.read()
        return data

    def put(
        self, bucket: str, key: str, data: bytes, metadata: dict[str, str] | None = None
    ) -> None:
        self._s3().put_object(Bucket=bucket, Key=key, Body=data, Metadata=metadata or {})

    def delete(self, bucket: str, key: str) -> None:
        self._s3().delete_object(Bucket=bucket, Key=key)

    def metadata(self, bucket: str, key: str) -> dict[str, str]:
        """The object's user metadata (x-amz-meta-*)."""
        found: dict[str, str] = self._s3().head_object(Bucket=bucket, Key=key)["Metadata"]
        return found

    def uploads_in_progress(self, bucket: str) -> int:
        return len(self._s3().list_multipart_uploads(Bucket=bucket).get("Uploads", ()))

    @contextlib.contextmanager
    def require_auth(self) -> Iterator[None]:
        """Within: every request must be signed by a key moto's IAM knows."""
        self._call("POST", "/moto-api/reset-auth", b"0")
        try:
            yield
        finally:
            self._call("POST", "/moto-api/reset-auth", b"inf")

    def image_keys(self, bucket: str, prefix: str) -> dict[str, int]:
        pattern = re.compile(re.escape(prefix) + r"/\d+/\d+/[A-Za-z0-9_-]+/\d+-\w+\.jpg")
        return {k: n for k, n in self.keys(bucket, prefix + "/").items() if pattern.fullmatch(k)}
