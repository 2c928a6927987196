"""Streaming multipart/form-data: the ``file`` part's bytes as they arrive, never the whole body.

Quart's ``request.files`` would spool the whole upload before the handler runs; this reads
``request.body`` chunk by chunk through werkzeug's sans-IO decoder, so the size limit and the
storage upload act on the stream itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.sansio.multipart import Data, Epilogue, File, MultipartDecoder, NeedData

from vetrai.core.errors import ProblemError, unprocessable

FEED_BYTES = 64 * 1024
MAX_PART_HEADER_BYTES = 1024 * 1024


def malformed(detail: str = "malformed multipart/form-data body") -> ProblemError:
    return ProblemError(400, detail)


class MultipartStream:
    def __init__(self, body: AsyncIterator[bytes], boundary: str) -> None:
        self._body = body.__aiter__()
        self._decoder = MultipartDecoder(boundary.encode("latin-1"), max_form_memory_size=MAX_PART_HEADER_BYTES)
        self._pending = b""
        self._ended = False

    async def next_event(self) -> object:
        while True:
            try:
                event = self._decoder.next_event()
            except ValueError as exc:
                raise malformed(f"malformed multipart/form-data body: {exc}") from None
            if not isinstance(event, NeedData):
                return event
            await self._feed()

    async def _feed(self) -> None:
        if not self._pending:
            if self._ended:
                raise malformed("the multipart/form-data body ended early")
            try:
                self._pending = await self._body.__anext__()
            except StopAsyncIteration:
                self._ended = True
                self._decoder.receive_data(None)
                return
        piece, self._pending = self._pending[:FEED_BYTES], self._pending[FEED_BYTES:]
        try:
            self._decoder.receive_data(piece)
        except RequestEntityTooLarge:
            raise malformed("a multipart part header is too large") from None


@dataclass
class UploadedFile:
    filename: str | None
    declared_type: str | None
    chunks: AsyncIterator[bytes]


async def file_part(
    body: AsyncIterator[bytes], mimetype: str, boundary: str | None, field: str = "file"
) -> UploadedFile:
    """Advance to the part named ``field`` that carries a file; its data streams lazily."""
    if mimetype != "multipart/form-data" or not boundary:
        raise unprocessable(
            [
                {
                    "loc": ["body", field],
                    "msg": "send multipart/form-data with a file part named 'file'",
                    "type": "missing",
                }
            ]
        )
    stream = MultipartStream(body, boundary)
    while True:
        event = await stream.next_event()
        if isinstance(event, File) and event.name == field:
            break
        if isinstance(event, Epilogue):
            raise unprocessable(
                [{"loc": ["body", field], "msg": "a file part named 'file' is required", "type": "missing"}]
            )

    async def chunks() -> AsyncIterator[bytes]:
        while True:
            data = await stream.next_event()
            if not isinstance(data, Data):
                raise malformed()
            if data.data:
                yield data.data
            if not data.more_data:
                return

    return UploadedFile(filename=event.filename, declared_type=event.headers.get("Content-Type"), chunks=chunks())
