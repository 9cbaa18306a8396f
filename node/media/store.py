"""Where media files and renders live: a local directory or an S3-compatible bucket.

Only the web process uses it: GPU workers get no bucket credentials and no S3 client, just presigned
URLs in their job spec (`S3Store.presign`, see node.services.generation and generation.staging). Keys
are relative POSIX paths such as ``ab/cd/<name>.mp4`` or ``jobs/12/out/12.mp4``; callers make them.

`LocalStore` keeps files under a root directory (the embedded default: what the node always did).
`S3Store` speaks to any S3-compatible service through aiobotocore (the asyncio port of botocore,
maintained with it by the aio-libs project).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

CHUNK = 1 << 20
PUBLIC_PREFIX = "public/"  # copies of public media, for a bucket (or CDN) that serves them to anyone


class StoreError(RuntimeError):
    """The store refused or failed an operation."""


class NotStored(StoreError):
    """No object under that key."""


@dataclass(frozen=True)
class S3Settings:
    endpoint: str  # empty: AWS's own endpoint for the region
    bucket: str
    region: str
    access_key_id: str
    secret_access_key: str
    path_style: bool = False
    public_base_url: str = ""  # where the bucket's objects can be fetched without credentials, if anywhere


class Store(Protocol):
    local: bool
    public_copies: bool  # whether publish makes copies (that unpublish deletes)

    async def put_file(self, key: str, path: Path, content_type: str) -> None: ...
    async def get_file(self, key: str, path: Path) -> None: ...
    async def size(self, key: str) -> int | None: ...
    def stream(self, key: str, start: int = 0, stop: int | None = None) -> AsyncIterator[bytes]: ...
    async def delete(self, key: str) -> None: ...
    async def publish(self, key: str) -> str | None: ...
    async def unpublish(self, key: str) -> None: ...
    async def close(self) -> None: ...


def check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise StoreError(f"not a store key: {key!r}")
    return key


class LocalStore:
    """Files under `root`; `path(key)` is where one lives, so callers may read it in place."""

    local = True
    public_copies = False

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        target = self.path(key)
        if target == path:
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(shutil.copyfile, path, target)

    async def get_file(self, key: str, path: Path) -> None:
        source = self.path(key)
        if not source.is_file():
            raise NotStored(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(shutil.copyfile, source, path)

    async def size(self, key: str) -> int | None:
        source = self.path(key)
        return source.stat().st_size if source.is_file() else None

    async def stream(self, key: str, start: int = 0, stop: int | None = None) -> AsyncIterator[bytes]:
        """Bytes [start, stop) of the file."""
        try:
            fh = open(self.path(key), "rb")
        except FileNotFoundError:
            raise NotStored(key) from None
        with fh:
            fh.seek(start)
            left = None if stop is None else stop - start
            while left is None or left > 0:
                chunk = await asyncio.to_thread(fh.read, CHUNK if left is None else min(CHUNK, left))
                if not chunk:
                    break
                if left is not None:
                    left -= len(chunk)
                yield chunk

    async def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    async def publish(self, key: str) -> str | None:
        """A local directory has no public URL: the node serves its files."""
        return None

    async def unpublish(self, key: str) -> None:
        """No public copy to delete (see publish)."""

    async def close(self) -> None:
        pass


class S3Store:
    """An S3-compatible bucket. One client per store, opened on first use, closed with `close`."""

    local = False

    def __init__(self, settings: S3Settings) -> None:
        self.public_copies = bool(settings.public_base_url)
        self.settings = settings
        self._client = None
        self._context = None
        self._lock = asyncio.Lock()
        self._published: set[str] = set()

    async def _s3(self):
        async with self._lock:
            if self._client is None:
                # Only a bucket needs botocore, a heavy import: a media_dir node never loads it.
                from aiobotocore.config import AioConfig
                from aiobotocore.session import get_session

                s = self.settings
                self._context = get_session().create_client(
                    "s3", region_name=s.region, endpoint_url=s.endpoint or None,
                    aws_access_key_id=s.access_key_id, aws_secret_access_key=s.secret_access_key,
                    config=AioConfig(s3={"addressing_style": "path" if s.path_style else "auto"},
                                     signature_version="s3v4", retries={"max_attempts": 3, "mode": "standard"}))
                self._client = await self._context.__aenter__()
            return self._client

    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        """Upload `path`; its SHA-256 goes along as metadata, for workers to check what they download."""
        s3 = await self._s3()
        digest = await asyncio.to_thread(_sha256, path)
        with open(path, "rb") as body:
            await self._call(s3.put_object(Bucket=self.settings.bucket, Key=check_key(key), Body=body,
                                           ContentType=content_type, ContentLength=os.fstat(body.fileno()).st_size,
                                           Metadata={"sha256": digest}))

    async def stat(self, key: str) -> tuple[int, str | None]:
        """Size and SHA-256 (None if not uploaded by `put_file`) of an object."""
        s3 = await self._s3()
        try:
            head = await s3.head_object(Bucket=self.settings.bucket, Key=check_key(key))
        except s3.exceptions.ClientError as exc:
            raise (NotStored(key) if _status(exc) == 404 else StoreError(f"{key}: {exc}")) from None
        return int(head["ContentLength"]), head.get("Metadata", {}).get("sha256")

    async def presign(self, method: str, key: str, seconds: int) -> str:
        """A URL that lets anyone holding it GET or PUT this one object for `seconds`: what a GPU
        worker is given instead of credentials."""
        s3 = await self._s3()
        operation = {"GET": "get_object", "PUT": "put_object"}[method]
        return await s3.generate_presigned_url(operation, Params={"Bucket": self.settings.bucket,
                                                                   "Key": check_key(key)}, ExpiresIn=seconds)

    async def get_file(self, key: str, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + ".part")
        try:
            with open(part, "wb") as out:
                async for chunk in self.stream(key):
                    await asyncio.to_thread(out.write, chunk)
            os.replace(part, path)
        finally:
            part.unlink(missing_ok=True)

    async def size(self, key: str) -> int | None:
        s3 = await self._s3()
        try:
            head = await s3.head_object(Bucket=self.settings.bucket, Key=check_key(key))
        except s3.exceptions.ClientError as exc:
            if _status(exc) == 404:
                return None
            raise StoreError(f"{key}: {exc}") from None
        return int(head["ContentLength"])

    async def stream(self, key: str, start: int = 0, stop: int | None = None) -> AsyncIterator[bytes]:
        """Bytes [start, stop) of the object (one ranged GET)."""
        s3 = await self._s3()
        extra = {"Range": f"bytes={start}-{'' if stop is None else stop - 1}"} if start or stop is not None else {}
        try:
            response = await s3.get_object(Bucket=self.settings.bucket, Key=check_key(key), **extra)
        except s3.exceptions.ClientError as exc:
            raise (NotStored(key) if _status(exc) == 404 else StoreError(f"{key}: {exc}")) from None
        async with response["Body"] as body:
            while chunk := await body.read(CHUNK):
                yield chunk

    async def delete(self, key: str) -> None:
        s3 = await self._s3()
        await self._call(s3.delete_object(Bucket=self.settings.bucket, Key=check_key(key)))

    async def publish(self, key: str) -> str | None:
        """The public URL of a copy of the object under ``public/`` (made on first call, readable by
        anyone: ACL public-read, or a bucket policy on that prefix), or None without a public base URL.
        The original stays private: a private file's key, once known, opens nothing in the bucket."""
        base = self.settings.public_base_url
        if not base:
            return None
        public = f"{PUBLIC_PREFIX}{check_key(key)}"
        if public not in self._published:
            if await self.size(public) is None:
                await self._copy_public(key, public)
            if len(self._published) > 100_000:
                self._published.clear()
            self._published.add(public)
        return f"{base.rstrip('/')}/{quote(public)}"

    async def unpublish(self, key: str) -> None:
        """Delete the public copy of the object, if any: once no public post shows the file, its bucket
        URL stops answering too."""
        if not self.public_copies:
            return
        public = f"{PUBLIC_PREFIX}{check_key(key)}"
        self._published.discard(public)
        await self.delete(public)

    async def _copy_public(self, key: str, public: str) -> None:
        s3 = await self._s3()
        bucket = self.settings.bucket
        copy = {"Bucket": bucket, "Key": public, "CopySource": {"Bucket": bucket, "Key": key}}
        try:
            await s3.copy_object(**copy, ACL="public-read")
        except s3.exceptions.ClientError as exc:
            if _status(exc) == 404:
                raise NotStored(key) from None
            if "ACL" not in str(exc) and "NotImplemented" not in str(exc):
                raise StoreError(f"{key}: {exc}") from None
            await self._call(s3.copy_object(**copy))  # no ACLs here (R2, Garage…): the bucket policy decides

    async def _call(self, awaitable):
        from botocore.exceptions import BotoCoreError, ClientError  # bucket only, as in _s3

        try:
            return await awaitable
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(str(exc)) from None

    async def close(self) -> None:
        if self._context is not None:
            await self._context.__aexit__(None, None, None)
            self._client = self._context = None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _status(exc) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
