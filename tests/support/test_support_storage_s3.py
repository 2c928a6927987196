"""core.storage_s3.S3Storage against a real S3 API (moto in server mode on loopback)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.conftest import s3_storage_url
from vetrai.core.storage import FilesystemStorage, StorageError, open_storage
from vetrai.core.storage_s3 import PART_SIZE, S3Storage


async def chunked(data: bytes, size: int = 1024 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def read_all(storage, key: str) -> bytes:
    return b"".join([chunk async for chunk in storage.open(key)])


@pytest.fixture
async def s3(s3_endpoint) -> AsyncIterator[S3Storage]:
    storage = open_storage(s3_storage_url(s3_endpoint))
    assert isinstance(storage, S3Storage)
    yield storage
    await storage.close()


async def test_small_and_empty_objects_round_trip(s3):
    await s3.check()
    assert await s3.put("org/a/one", chunked(b"hello world"), "text/plain") == 11
    assert await read_all(s3, "org/a/one") == b"hello world"
    assert await s3.put("org/a/empty", chunked(b""), "text/plain") == 0
    assert await read_all(s3, "org/a/empty") == b""
    client = await s3._s3()
    head = await client.head_object(Bucket=s3.bucket, Key="files/org/a/one")
    assert head["ContentType"] == "text/plain"


async def test_large_object_uses_multipart_and_is_byte_identical(s3):
    data = os.urandom(PART_SIZE * 2 + 12345)
    assert await s3.put("org/a/big", chunked(data), "application/zip") == len(data)
    assert await read_all(s3, "org/a/big") == data
    client = await s3._s3()
    head = await client.head_object(Bucket=s3.bucket, Key="files/org/a/big")
    assert "-3" in head["ETag"]  # a multipart ETag names its part count


async def test_failed_stream_leaves_no_object_or_upload(s3):
    data = os.urandom(PART_SIZE + 10)

    async def broken() -> AsyncIterator[bytes]:
        async for chunk in chunked(data):
            yield chunk
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        await s3.put("org/a/broken", broken(), "application/zip")
    client = await s3._s3()
    assert "Contents" not in await client.list_objects_v2(Bucket=s3.bucket, Prefix="files/org/a/broken")
    assert not (await client.list_multipart_uploads(Bucket=s3.bucket)).get("Uploads")


async def test_missing_object_and_delete(s3):
    with pytest.raises(FileNotFoundError):
        await read_all(s3, "org/a/nothing")
    await s3.put("org/a/gone", chunked(b"bye"), "text/plain")
    await s3.delete("org/a/gone")
    with pytest.raises(FileNotFoundError):
        await read_all(s3, "org/a/gone")
    await s3.delete("org/a/gone")  # deleting twice is fine


async def test_presigned_url_downloads_with_attachment_disposition(s3):
    await s3.put("org/a/report", chunked(b"%PDF-1.7 data"), "application/pdf")
    url = await s3.presigned_url("org/a/report", 30, 'rapport "final" é.pdf')
    assert "X-Amz-Expires=30" in url
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
    assert response.status_code == 200
    assert response.content == b"%PDF-1.7 data"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="rapport _final_ e.pdf"')
    assert "filename*=UTF-8''rapport%20%22final%22%20%C3%A9.pdf" in disposition
    async with httpx.AsyncClient() as http:
        tampered = await http.get(url.replace("files/org/a/report", "files/org/a/other"))
    assert tampered.status_code != 200


async def test_bucket_created_in_another_region(s3_endpoint):
    storage = open_storage(
        f"s3://eu-{uuid.uuid4().hex[:8]}?endpoint_url={s3_endpoint}&region_name=eu-west-1&create_bucket=true&access_key_id=k&secret_access_key=s"
    )
    assert await storage.put("org/a/x", chunked(b"x"), "text/plain") == 1
    await storage.check()
    await storage.close()


async def test_check_fails_for_a_missing_bucket(s3_endpoint):
    storage = S3Storage(
        f"missing-{uuid.uuid4().hex[:8]}",
        endpoint_url=s3_endpoint,
        access_key_id="testing",
        secret_access_key="testing",
    )
    with pytest.raises(StorageError):
        await storage.check()
    await storage.close()


def test_storage_url_options():
    storage = open_storage("s3://bucket/some/prefix?endpoint_url=http://127.0.0.1:9000&region_name=eu-west-1")
    assert isinstance(storage, S3Storage)
    assert storage.bucket == "bucket" and storage.prefix == "some/prefix"
    assert storage._key("org/x") == "some/prefix/org/x"
    with pytest.raises(ValueError, match="unknown s3:// storage URL options: endpoint"):
        open_storage("s3://bucket?endpoint=http://x")
    with pytest.raises(ValueError, match="needs a bucket"):
        open_storage("s3://?endpoint_url=http://x")
    assert isinstance(open_storage("file:///tmp/x"), FilesystemStorage)


async def test_filesystem_storage_refuses_escaping_keys(tmp_path):
    storage = FilesystemStorage(tmp_path / "root")
    with pytest.raises(StorageError):
        await storage.put("../outside", chunked(b"x"), "text/plain")
    assert await storage.put("org/a/b", chunked(b"abc"), "text/plain") == 3
    assert await read_all(storage, "org/a/b") == b"abc"
    assert await storage.presigned_url("org/a/b", 60, "b") is None
    assert not (tmp_path / "outside").exists()
