"""Reading request bodies the one way: an optional JSON/form body, and a streamed file upload.

Quart's ``request.files`` would spool the whole upload before the handler runs; ``file_upload``
reads ``request.body`` chunk by chunk through werkzeug's sans-IO decoder, so the size limit and
the storage upload act on the stream itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from quart import request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.sansio.multipart import Data, Epilogue, File, MultipartDecoder, NeedData

from vetrai.core.errors import ProblemError, body_errors, field_error, unprocessable

FORM = "application/x-www-form-urlencoded"
M = TypeVar("M", bound=BaseModel)


async def optional_body(model: type[M], *, form_aliases: Mapping[str, str] | None = None) -> M:
    """A JSON (or form-encoded) body validated into ``model``; an empty body counts as ``{}``.

    For routes whose body may be left out (every field has a default) and for OAuth-style
    endpoints that also take forms (``form_aliases`` renames form fields). Malformed JSON is a
    400 problem, a value the model refuses a 422.
    """
    values: object = {}
    if request.mimetype == FORM:
        form = await request.form
        values = {(form_aliases or {}).get(key, key): value for key, value in form.items()}
    elif (await request.get_data()).strip():
        values = await request.get_json(force=True, silent=True)
        if values is None:
            raise ProblemError(400, "the request body is not valid JSON")
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise unprocessable(body_errors(exc)) from None


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
        raise field_error(field, "send multipart/form-data with a file part named 'file'", type="missing")
    stream = MultipartStream(body, boundary)
    while True:
        event = await stream.next_event()
        if isinstance(event, File) and event.name == field:
            break
        if isinstance(event, Epilogue):
            raise field_error(field, "a file part named 'file' is required", type="missing")

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


async def file_upload(field: str = "file") -> UploadedFile:
    """The current request's multipart part ``field``, streamed (see ``file_part``)."""
    return await file_part(request.body, request.mimetype, request.mimetype_params.get("boundary"), field)


async def read_at_most(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """Up to ``limit + 1`` bytes of a stream: enough to tell "too large" without buffering more."""
    data = bytearray()
    async for chunk in chunks:
        data += chunk
        if len(data) > limit:
            break
    return bytes(data[: limit + 1])
