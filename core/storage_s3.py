"""S3-compatible storage (AWS S3, MinIO) through aioboto3, streamed with multipart uploads."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aioboto3
from botocore.exceptions import ClientError

from vetrai.core.storage import StorageError

PART_SIZE = 8 * 1024 * 1024


class S3Storage:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region_name: str | None = None,
        create_bucket: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._session = aioboto3.Session()
        self._client_args: dict[str, Any] = {"endpoint_url": endpoint_url, "region_name": region_name or "us-east-1"}
        self._create_bucket = (create_bucket or "").lower() in {"1", "true", "yes"}
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: Any = None

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    async def _s3(self) -> Any:
        if self._client is None:
            self._stack = contextlib.AsyncExitStack()
            self._client = await self._stack.enter_async_context(self._session.client("s3", **self._client_args))
            if self._create_bucket:
                with contextlib.suppress(ClientError):
                    await self._client.create_bucket(Bucket=self.bucket)
        return self._client

    async def put(self, key: str, chunks: AsyncIterator[bytes], content_type: str) -> int:
        s3 = await self._s3()
        full_key = self._key(key)
        upload = await s3.create_multipart_upload(Bucket=self.bucket, Key=full_key, ContentType=content_type)
        upload_id = upload["UploadId"]
        parts: list[dict[str, Any]] = []
        buffer = bytearray()
        size = 0
        try:
            async for chunk in chunks:
                size += len(chunk)
                buffer += chunk
                if len(buffer) >= PART_SIZE:
                    parts.append(await self._upload_part(s3, full_key, upload_id, len(parts) + 1, bytes(buffer)))
                    buffer.clear()
            if buffer or not parts:
                parts.append(await self._upload_part(s3, full_key, upload_id, len(parts) + 1, bytes(buffer)))
            await s3.complete_multipart_upload(
                Bucket=self.bucket, Key=full_key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            with contextlib.suppress(Exception):
                await s3.abort_multipart_upload(Bucket=self.bucket, Key=full_key, UploadId=upload_id)
            raise
        return size

    async def _upload_part(self, s3: Any, key: str, upload_id: str, number: int, body: bytes) -> dict[str, Any]:
        result = await s3.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)
        return {"ETag": result["ETag"], "PartNumber": number}

    async def open(self, key: str) -> AsyncIterator[bytes]:
        s3 = await self._s3()
        try:
            result = await s3.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise FileNotFoundError(key) from exc
            raise StorageError(str(exc)) from exc
        async with result["Body"] as body:
            while chunk := await body.read(64 * 1024):
                yield chunk

    async def delete(self, key: str) -> None:
        s3 = await self._s3()
        await s3.delete_object(Bucket=self.bucket, Key=self._key(key))

    async def presigned_url(self, key: str, expires_seconds: int, filename: str) -> str | None:
        s3 = await self._s3()
        return await s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._key(key),
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
            },
            ExpiresIn=expires_seconds,
        )

    async def check(self) -> None:
        s3 = await self._s3()
        try:
            await s3.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            raise StorageError(f"bucket {self.bucket!r} is not reachable: {exc}") from exc

    async def close(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None
            self._client = None
