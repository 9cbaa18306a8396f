"""Jobs whose files live in the node's object store (`JobSpec.stored`): no volume shared with the node.

The spec's paths are then "/" + a key in the store. The worker downloads the inputs (remix source,
still, cameo sheets, voice sample) into a scratch folder of its own data dir, renders there as for
any job, uploads the video and poster under the keys the node asked for, and reports those paths.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from blobstore import Store
from generation.spec import JobSpec

CONTENT_TYPES = {".mp4": "video/mp4", ".jpg": "image/jpeg"}


def key_of(path: str) -> str:
    return path.lstrip("/")


def scratch_dir(data_dir: str | Path, job_id: str) -> Path:
    return Path(data_dir) / "staged" / job_id


async def stage(store: Store, spec: JobSpec, scratch: Path) -> JobSpec:
    """The spec with every input downloaded under `scratch` and the output folder there too."""

    async def local(path: str | None) -> str | None:
        if path is None:
            return None
        target = scratch / key_of(path)
        await store.get_file(key_of(path), target)
        return str(target)

    out = scratch / key_of(spec.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    return dataclasses.replace(
        spec, stored=False, output_dir=str(out), source_video=await local(spec.source_video),
        image=await local(spec.image), cameo_references=[await local(p) for p in spec.cameo_references],
        voice_sample=await local(spec.voice_sample))


async def publish(store: Store, spec: JobSpec, result: dict) -> dict:
    """Upload the rendered files to the keys under the stored spec's output folder; the result names them."""
    published = dict(result)
    for field in ("video_path", "poster_path"):
        local = Path(result[field])
        key = f"{key_of(spec.output_dir)}/{local.name}"
        await store.put_file(key, local, CONTENT_TYPES.get(local.suffix, "application/octet-stream"))
        published[field] = "/" + key
    return published


def discard(scratch: Path) -> None:
    shutil.rmtree(scratch, ignore_errors=True)

