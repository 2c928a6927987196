"""S3-compatible storage (AWS S3, MinIO) through aioboto3, streamed with multipart uploads.

``VETRAI_STORAGE_URL=s3://bucket/optional/prefix?endpoint_url=https://minio:9000&create_bucket=true``.
Credentials come from the usual AWS environment/config chain, or from the URL options
``access_key_id``/``secret_access_key`` (and ``session_token``). Objects smaller than one part
are written with one PUT; larger ones stream as a multipart upload holding one part in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aioboto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from vetrai.core.storage_base import CHUNK, StorageError, attachment_disposition

PART_SIZE = 8 * 1024 * 1024
"""Multipart part size (S3 requires at least 5 MiB for every part but the last)."""
MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
TRUE = frozenset({"1", "true", "yes", "on"})


class S3Storage:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region_name: str | None = None,
        create_bucket: str | bool | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        addressing_style: str | None = None,
        **unknown: str,
    ) -> None:
        if unknown:
            raise ValueError(f"unknown s3:// storage URL options: {', '.join(sorted(unknown))}")
        if not bucket:
            raise ValueError("the s3:// storage URL needs a bucket: s3://bucket?endpoint_url=...")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._session = aioboto3.Session(
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            aws_session_token=session_token,
        )
        # MinIO and most S3-compatible servers want path-style URLs; AWS takes either.
        style = addressing_style or ("path" if endpoint_url else "auto")
        self._client_args: dict[str, Any] = {
            "endpoint_url": endpoint_url,
            "region_name": region_name or "us-east-1",
            "config": Config(s3={"addressing_style": style}, signature_version="s3v4"),
        }
        self._create_bucket = str(create_bucket or "").lower() in TRUE
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: Any = None
        self._lock = asyncio.Lock()

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    async def _s3(self) -> Any:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                stack = contextlib.AsyncExitStack()
                client = await stack.enter_async_context(self._session.client("s3", **self._client_args))
                if self._create_bucket:
                    region = self._client_args["region_name"]
                    location = (
                        {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
                    )
                    try:
                        await client.create_bucket(Bucket=self.bucket, **location)
                    except ClientError as exc:
                        if exc.response.get("Error", {}).get("Code") not in {
                            "BucketAlreadyOwnedByYou",
                            "BucketAlreadyExists",
                        }:
                            await stack.aclose()
                            raise StorageError(f"cannot create bucket {self.bucket!r}: {exc}") from exc
                self._stack, self._client = stack, client
        return self._client

    async def put(self, key: str, chunks: AsyncIterator[bytes], content_type: str) -> int:
        s3 = await self._s3()
        full_key = self._key(key)
        buffer = bytearray()
        size = 0
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            async for chunk in chunks:
                size += len(chunk)
                buffer += chunk
                if len(buffer) >= PART_SIZE:
                    if upload_id is None:
                        upload = await s3.create_multipart_upload(
                            Bucket=self.bucket, Key=full_key, ContentType=content_type
                        )
                        upload_id = upload["UploadId"]
                    parts.append(await self._upload_part(s3, full_key, upload_id, len(parts) + 1, bytes(buffer)))
                    buffer.clear()
            if upload_id is None:
                await s3.put_object(Bucket=self.bucket, Key=full_key, Body=bytes(buffer), ContentType=content_type)
                return size
            if buffer:
                parts.append(await self._upload_part(s3, full_key, upload_id, len(parts) + 1, bytes(buffer)))
            await s3.complete_multipart_upload(
                Bucket=self.bucket, Key=full_key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException as exc:
            if upload_id is not None:
                with contextlib.suppress(Exception):
                    await s3.abort_multipart_upload(Bucket=self.bucket, Key=full_key, UploadId=upload_id)
            if isinstance(exc, (ClientError, BotoCoreError)):
                raise StorageError(f"storing {key!r} failed: {exc}") from exc
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
            if exc.response.get("Error", {}).get("Code") in MISSING_CODES:
                raise FileNotFoundError(key) from exc
            raise StorageError(str(exc)) from exc
        body = result["Body"]
        # ``async with body`` yields the raw aiohttp response, whose read() takes no size:
        # read through the StreamingBody wrapper and only use the context to release it.
        async with body:
            while chunk := await body.read(CHUNK):
                yield chunk

    async def delete(self, key: str) -> None:
        s3 = await self._s3()
        await s3.delete_object(Bucket=self.bucket, Key=self._key(key))

    async def delete_prefix(self, prefix: str) -> int:
        s3 = await self._s3()
        deleted = 0
        paginator = s3.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                await s3.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
                deleted += len(keys)
        return deleted

    async def presigned_url(self, key: str, expires_seconds: int, filename: str) -> str | None:
        s3 = await self._s3()
        url: str = await s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._key(key),
                "ResponseContentDisposition": attachment_disposition(filename),
            },
            ExpiresIn=expires_seconds,
        )
        return url

    async def check(self) -> None:
        try:
            s3 = await self._s3()
            await s3.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"bucket {self.bucket!r} is not reachable: {exc}") from exc

    async def close(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None
            self._client = None
