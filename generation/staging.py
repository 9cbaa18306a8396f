"""Jobs whose files live in the node's object store (`JobSpec.transfer`): no volume shared with the node.

The worker holds no bucket credentials and no S3 client: the node put presigned URLs in the spec.
The worker downloads the inputs (remix source, still, cameo sheets, voice sample) over plain HTTP(S)
into a scratch folder of its own data dir, each capped at the size the node gave and checked against
its SHA-256, renders there as for any job, PUTs the video and poster to the URLs the node signed, and
reports the paths under the spec's output_dir, as every worker does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from pathlib import Path

import aiohttp

from generation.spec import JobSpec

CHUNK = 1 << 20
# Connecting and every read must make progress; a whole transfer may take as long as the job allows.
TIMEOUT = aiohttp.ClientTimeout(total=None, connect=30, sock_connect=30, sock_read=120)
CONTENT_TYPES = {".mp4": "video/mp4", ".jpg": "image/jpeg"}


class TransferError(RuntimeError):
    """An input could not be downloaded intact, or an output not uploaded."""


def scratch_dir(data_dir: str | Path, job_id: str) -> Path:
    return Path(data_dir) / "staged" / job_id


async def stage(spec: JobSpec, scratch: Path) -> JobSpec:
    """The spec with every input downloaded under `scratch` and the output folder there too."""
    names: dict[str, str] = {}
    out = scratch / "out"
    out.mkdir(parents=True, exist_ok=True)
    async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
        async def local(url: str | None) -> str | None:
            if url is None:
                return None
            if url not in names:
                target = scratch / "in" / str(len(names))
                await _download(http, url, target, **spec.transfer["inputs"][url])
                names[url] = str(target)
            return names[url]

        return dataclasses.replace(
            spec, transfer=None, output_dir=str(out), source_video=await local(spec.source_video),
            image=await local(spec.image), cameo_references=[await local(u) for u in spec.cameo_references],
            voice_sample=await local(spec.voice_sample))


async def _download(http: aiohttp.ClientSession, url: str, target: Path, *, size: int, sha256: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, received = hashlib.sha256(), 0
    try:
        async with http.get(url) as response:
            if response.status != 200:
                raise TransferError(f"input download answered HTTP {response.status}")
            with open(target, "wb") as fh:
                async for chunk in response.content.iter_chunked(CHUNK):
                    received += len(chunk)
                    if received > size:
                        raise TransferError(f"input is larger than the {size} bytes the node announced")
                    digest.update(chunk)
                    fh.write(chunk)
    except aiohttp.ClientError as exc:
        raise TransferError(f"input download failed: {exc}") from None
    if received != size or digest.hexdigest() != sha256:
        raise TransferError("input does not match the size and SHA-256 the node announced")


async def publish(spec: JobSpec, result: dict) -> dict:
    """PUT the rendered video and poster to the spec's presigned URLs; the result names them under
    the spec's output_dir (what the node checks)."""
    published = dict(result)
    async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
        for field, output in (("video_path", "video"), ("poster_path", "poster")):
            local = Path(result[field])
            try:
                with open(local, "rb") as body:
                    async with http.put(spec.transfer["outputs"][output], data=body, headers={
                            "Content-Length": str(local.stat().st_size)}) as response:
                        if response.status not in (200, 201, 204):
                            raise TransferError(f"{output} upload answered HTTP {response.status}")
            except aiohttp.ClientError as exc:
                raise TransferError(f"{output} upload failed: {exc}") from None
            published[field] = f"{spec.output_dir}/{local.name}"
    return published


def discard(scratch: Path) -> None:
    shutil.rmtree(scratch, ignore_errors=True)
