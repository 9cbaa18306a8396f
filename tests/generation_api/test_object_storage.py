"""[storage] backend = "s3": media and renders in an S3-compatible bucket, against a real S3 HTTP server.

The server is moto's ThreadedMotoServer (the `moto[server]` test dependency): a pure-Python
implementation of the S3 REST API, SigV4 and path-style addressing included, that the tests start
on a free port — real HTTP between the node, the worker and the bucket, nothing of ours mocked.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
import requests
import tomli_w

from provenance.c2pa import verify_video
from tests.api.test_privacy import _signed_parts, follow, marker
from tests.api.test_provenance_trust import signed_clip
from tests.support.downloads import download, node_cas
from tests.support.generation import generate, wait_job
from tests.support.servers import free_port

ACCESS_KEY, SECRET_KEY = "vitascope-test", "vitascope-test-secret"


class S3Server:
    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        self.url = f"http://127.0.0.1:{self.port}"

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY)

    def bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        return [o["Key"] for o in self.client().list_objects_v2(Bucket=bucket).get("Contents", [])]

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture(scope="module")
def s3():
    server = S3Server()
    yield server
    server.stop()


def storage(s3: S3Server, bucket: str, **extra) -> dict:
    return {"backend": "s3", "s3_endpoint": s3.url, "s3_bucket": bucket, "s3_region": "us-east-1",
            "s3_access_key_id": ACCESS_KEY, "s3_secret_access_key": SECRET_KEY, "s3_path_style": True, **extra}


def local_media_files(node) -> list:
    return [p for p in (node.data_dir / "media").rglob("*") if p.is_file()]


def test_uploaded_media_live_in_the_bucket_public_redirected_private_signed_only(nodes, s3, tmp_path):
    bucket = s3.bucket("uploads")
    public_base = f"{s3.url}/{bucket}"
    node = nodes("s3-uploads", overrides={"storage": storage(s3, bucket, s3_public_base_url=public_base)})
    alice, bob = node.mastodon(), node.mastodon()
    follow(bob, alice)
    clip_bytes = signed_clip(node, tmp_path)[1].read_bytes()
    (tmp_path / "clip.mp4").write_bytes(clip_bytes)
    private_media = alice.media_post(str(tmp_path / "clip.mp4"), mime_type="video/mp4")
    public_media = alice.media_post(str(tmp_path / "clip.mp4"), mime_type="video/mp4")
    private = alice.status_post(marker("followers only"), media_ids=[private_media["id"]], visibility="private")
    public = alice.status_post(marker("for everyone"), media_ids=[public_media["id"]])

    # Both videos and their posters are in the bucket, none left on the node's disk.
    keys = s3.keys(bucket)
    for media in (private_media, public_media):
        path = urlsplit(media["url"]).path.removeprefix("/media/")
        assert path in keys and path[:-4] + ".jpg" in keys
    assert local_media_files(node) == []

    # Public: the node's plain URL (same shape as ever) sends the client to the bucket's public URL.
    [plain] = bob.status(public["id"])["media_attachments"]
    assert plain["url"].startswith(node.url + "/media/") and "?" not in plain["url"]
    moved = requests.get(plain["url"], allow_redirects=False)
    assert moved.status_code == 302 and moved.headers["Location"].startswith(public_base + "/")
    assert requests.get(plain["url"]).content == clip_bytes
    # ...to a public copy: the original object, whose key a private file shares, opens nothing.
    public_key = moved.headers["Location"].removeprefix(public_base + "/")
    assert public_key == "public/" + urlsplit(plain["url"]).path.removeprefix("/media/")
    assert requests.get(f"{public_base}/{public_key.removeprefix('public/')}").status_code == 403

    # Private: only the signed, expiring node URL opens it, streamed from the bucket; never a bucket URL.
    [shown] = bob.status(private["id"])["media_attachments"]
    private_key = urlsplit(shown["url"]).path.removeprefix("/media/")
    assert requests.get(f"{public_base}/{private_key}").status_code == 403
    assert requests.get(f"{public_base}/public/{private_key}").status_code in (403, 404)
    plain_private, query = _signed_parts(shown["url"])
    assert set(query) == {"expires", "signature"} and plain_private.startswith(node.url + "/media/")
    served = requests.get(shown["url"], allow_redirects=False)
    assert served.status_code == 200 and served.content == clip_bytes
    assert "public" not in served.headers["Cache-Control"]
    ranged = requests.get(shown["url"], headers={"Range": "bytes=10-109"})
    assert ranged.status_code == 206 and ranged.content == clip_bytes[10:110]
    assert ranged.headers["Content-Range"] == f"bytes 10-109/{len(clip_bytes)}"
    poster = requests.get(shown["preview_url"], allow_redirects=False)
    assert poster.status_code == 200 and poster.headers["Content-Type"] == "image/jpeg"
    refused = [requests.get(plain_private, allow_redirects=False),
               requests.get(plain_private, params={**query, "signature": query["signature"][:-2] + "AA"},
                            allow_redirects=False)]
    assert [r.status_code for r in refused] == [404, 404]
    assert all(r.json() == {"error": "Record not found"} for r in refused)
    assert "public/" + private_key not in s3.keys(bucket)

    # Deleting the post deletes the public copies of its video and poster; the node's URLs answer 404.
    poster_moved = requests.get(plain["preview_url"], allow_redirects=False)
    assert poster_moved.status_code == 302
    public_poster = poster_moved.headers["Location"].removeprefix(public_base + "/")
    assert {public_key, public_poster} <= set(s3.keys(bucket))
    alice.status_delete(public["id"])
    assert not {public_key, public_poster} & set(s3.keys(bucket))
    assert requests.get(f"{public_base}/{public_key}").status_code in (403, 404)
    assert requests.get(plain["url"], allow_redirects=False).status_code == 404


def test_a_worker_without_a_shared_volume_renders_into_the_bucket(nodes, s3, tiny_models, tmp_path):
    bucket = s3.bucket("renders")
    node = nodes("s3-gen", overrides={"storage": storage(s3, bucket)})
    # The worker: another data dir (its own models and scratch) and the node's Redis, nothing else —
    # no [storage] settings and no bucket credentials anywhere in its environment, as on a GPU machine
    # of its own: the job specs carry presigned URLs for its inputs and its render.
    worker_dir = tmp_path / "gpu-box"
    worker_data = worker_dir / "data"
    shutil.copytree(tiny_models / "models", worker_data / "models")
    config = worker_dir / "vitascope.toml"
    config.write_text(tomli_w.dumps({"server": {"base_url": node.url}, "redis": {"url": node.redis_url},
                                     "storage": {"data_dir": str(worker_data)}}))
    env = {k: v for k, v in node.env().items() if not k.startswith("AWS_")}
    assert not any(SECRET_KEY in v or ACCESS_KEY in v for v in env.values())
    assert SECRET_KEY not in config.read_text()
    log = open(worker_dir / "worker.log", "ab")
    worker = subprocess.Popen([sys.executable, "-m", "node.cli", "--config", str(config), "worker", "--name", "gpu-box"],
                              cwd=worker_dir, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        _wait_worker(node, worker, worker_dir)
        author, follower = node.mastodon(), node.mastodon()
        follow(follower, author)
        api = node.api(author.access_token)
        job = wait_job(api, generate(api, prompt="a lighthouse in fog", duration=1, aspect="1:1")["id"])
        assert job["state"] == "done", (job, (worker_dir / "worker.log").read_text()[-3000:])
        media = job["media_attachment"]

        # The signed video is in the bucket, fetched through the node and signed by its CA.
        path = urlsplit(media["url"]).path.removeprefix("/media/")
        keys = s3.keys(bucket)
        assert path in keys and path[:-4] + ".jpg" in keys
        # The worker's render is removed once signed (just after the job shows done).
        _until(lambda: not any(k.startswith("jobs/") for k in s3.keys(bucket)), "job files left in the bucket")
        assert local_media_files(node) == []
        assert not (worker_data / "staged" / job["id"]).exists()
        video = download(media["url"], tmp_path / "video.mp4")
        verdict = verify_video(video, node_cas(node))
        assert verdict.ok and verdict.ai_generated and verdict.claim["job_id"] == job["id"], verdict.reason

        status = author.status_post("made on another machine", media_ids=[media["id"]])
        assert status["id"] in [s["id"] for s in follower.timeline_home()]
        [shown] = follower.status(status["id"])["media_attachments"]
        assert requests.get(shown["url"]).content == video.read_bytes()

        # A remix: its source reaches the worker through the bucket too.
        remixer = node.mastodon()
        remix_api = node.api(remixer.access_token)
        remix = wait_job(remix_api, generate(remix_api, prompt="a lighthouse in fog, at night", duration=1,
                                             aspect="1:1", remix_of_id=status["id"])["id"])
        assert remix["state"] == "done", remix
        assert verify_video(download(remix["media_attachment"]["url"], tmp_path / "remix.mp4"),
                            node_cas(node)).chain[0]["state"] == "trusted"
    finally:
        worker.terminate()
        worker.wait(15)


def _until(condition, what: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise TimeoutError(what)
        time.sleep(0.1)


def _wait_worker(node, worker: subprocess.Popen, worker_dir, timeout: float = 120) -> None:
    import redis

    client = redis.Redis.from_url(node.redis_url)
    deadline = time.time() + timeout
    try:
        while not client.exists("vitascope:gen:health:gpu-box"):
            if worker.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"worker did not start:\n{(worker_dir / 'worker.log').read_text()[-3000:]}")
            time.sleep(0.1)
    finally:
        client.close()
