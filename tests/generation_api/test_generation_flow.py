"""A prompt becomes a signed video with sound, is posted, and reaches a follower; remixes link their source."""

from __future__ import annotations

import time
from io import BytesIO

import av
import redis
from PIL import Image

from provenance.c2pa import prompt_digest, verify_video
from tests.support.downloads import download, node_cas
from tests.support.generation import generate, make_video, wait_job
from tests.support.sse import SseReader


def test_prompt_becomes_a_signed_video_with_sound_that_a_follower_sees(gen_node, tmp_path):
    author, follower = gen_node.mastodon(), gen_node.mastodon()
    follower.account_follow(author.account_verify_credentials()["id"])
    api = gen_node.api(author.access_token)
    user_stream = SseReader(gen_node.url + "/api/v1/streaming/user", author.access_token)
    try:
        job = generate(api, prompt="a lighthouse in a storm at dusk", duration=2, aspect="9:16", seed=7,
                       publish_prompt=True)
        assert job["state"] == "queued" and job["model"]["test_model"] is True and job["media_attachment"] is None
        job_events = SseReader(f"{gen_node.url}/api/v1/vitascope/generations/{job['id']}/events", author.access_token)
        done = wait_job(api, job["id"])
        assert done["state"] == "done", done

        # Progress arrived live, on the job's event stream and on the user's streaming API.
        job_events.wait_for(lambda event, data: data["state"] == "done")
        running = [data for _, data in job_events.events if data["state"] == "running"]
        assert running and all(data["progress"]["total"] == done["progress"]["total"] for data in running[1:])
        user_stream.wait_for(lambda event, data: event == "vitascope.generation" and data["id"] == job["id"]
                             and data["state"] == "done")
        job_events.close()
    finally:
        user_stream.close()

    assert done["model"]["test_model"] is True and done["model"]["name"] == "tiny-ltx2"
    assert done["model"]["weights_digest"].startswith("sha256:")
    media = done["media_attachment"]
    original = media["meta"]["original"]
    assert media["type"] == "video" and media["blurhash"] and media["preview_url"]
    assert (original["width"], original["height"]) == (32, 64) and abs(original["duration"] - 2.0) < 0.2
    provenance = media["provenance"]
    assert provenance["verified"] and provenance["ai_generated"] and provenance["test_model"]
    assert provenance["node"] == gen_node.domain

    # The file: H.264 video and AAC audio of the asked duration, signed by this node's published CA.
    path = download(media["url"], tmp_path / "video.mp4")
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert video.codec_context.name == "h264" and audio.codec_context.name == "aac"
        assert abs(float(video.duration * video.time_base) - 2.0) <= 1 / 8
        assert abs(float(audio.duration * audio.time_base) - 2.0) <= 0.1
    verdict = verify_video(path, node_cas(gen_node))
    assert verdict.ok and verdict.ai_generated, verdict.reason
    assert verdict.claim["test_model"] is True and verdict.claim["job_id"] == job["id"]
    assert verdict.claim["node"] == gen_node.domain
    assert verdict.claim["prompt"] == "a lighthouse in a storm at dusk"
    assert verdict.claim["prompt_digest"] == prompt_digest("a lighthouse in a storm at dusk")
    assert verify_video(path, []).ok is False  # nothing but the node's CA makes it trusted

    status = author.status_post("a storm, made here", media_ids=[media["id"]])
    assert [m["id"] for m in status["media_attachments"]] == [media["id"]]
    assert status["id"] in [s["id"] for s in follower.timeline_home()]
    assert gen_node.api(author.access_token).get(f"/api/v1/vitascope/generations/{job['id']}").json()["state"] == "done"


def test_private_prompts_stay_out_of_the_manifest(gen_node, tmp_path):
    client = gen_node.mastodon()
    job = make_video(gen_node, client, "a secret garden", duration=1, aspect="1:1")
    verdict = verify_video(download(job["media_attachment"]["url"], tmp_path / "v.mp4"), node_cas(gen_node))
    assert verdict.ok and verdict.claim["prompt"] is None
    assert verdict.claim["prompt_digest"] == prompt_digest("a secret garden")
    with av.open(str(tmp_path / "v.mp4")) as container:
        assert (container.streams.video[0].width, container.streams.video[0].height) == (32, 32)


def test_remix_of_a_local_video_carries_its_verified_parent_and_notifies(gen_node, tmp_path):
    author, remixer = gen_node.mastodon(), gen_node.mastodon()
    source_job = make_video(gen_node, author, "waves on a pier", duration=1)
    source = author.status_post("waves", media_ids=[source_job["media_attachment"]["id"]])

    job = make_video(gen_node, remixer, "waves on a pier, in neon", duration=1, remix_of_id=source["id"])
    assert job["remix_of_id"] == source["id"] and job["remix_of_uri"] == source["uri"]
    media = job["media_attachment"]
    chain = media["provenance"]["remix_chain"]
    assert [c["manifest_id"] for c in chain] == [source_job["media_attachment"]["provenance"]["manifest_id"]]
    verdict = verify_video(download(media["url"], tmp_path / "remix.mp4"), node_cas(gen_node))
    assert verdict.ok and len(verdict.chain) == 1 and verdict.chain[0]["state"] == "trusted"

    remix = remixer.status_post("", media_ids=[media["id"]])
    assert remix["vitascope"]["remix_of_id"] == source["id"]
    assert author.status(source["id"])["vitascope"]["remixes_count"] == 1
    notes = [n for n in author.notifications() if n["type"] == "remix"]
    assert notes and notes[0]["status"]["id"] == remix["id"]


def test_remix_needs_a_remixable_source_with_a_video(gen_node):
    author, remixer = gen_node.mastodon(), gen_node.mastodon()
    source_job = make_video(gen_node, author, "a quiet street", duration=1)
    locked = gen_node.api(author.access_token).post("/api/v1/statuses", json={
        "status": "mine only", "media_ids": [source_job["media_attachment"]["id"]], "remixable": False}).json()
    text_only = author.status_post("no video here")
    api = gen_node.api(remixer.access_token)
    r = api.post("/api/v1/vitascope/generations", json={"prompt": "again", "remix_of_id": locked["id"]})
    assert r.status_code == 422 and "does not allow remixing" in r.json()["error"]
    r = api.post("/api/v1/vitascope/generations", json={"prompt": "again", "remix_of_id": text_only["id"]})
    assert r.status_code == 422 and "no video" in r.json()["error"]


def test_vitascope_generate_shows_progress_and_posts(gen_node):
    client = gen_node.mastodon()
    result = gen_node.cli("generate", "a kite over the dunes", "--user", client.vs_username, "--duration", "1",
                          "--post", "--text", "from the terminal")
    assert "queued (model tiny-ltx2, test model)" in result.stdout
    assert "step 2/2" in result.stdout and "done:" in result.stdout and "posted:" in result.stdout
    mine = client.account_statuses(client.account_verify_credentials()["id"])
    assert mine[0]["content"].find("from the terminal") >= 0 and mine[0]["media_attachments"][0]["type"] == "video"


def test_a_still_image_can_be_animated_and_garbage_is_refused(gen_node):
    client = gen_node.mastodon()
    api = gen_node.api(client.access_token)
    still = BytesIO()
    Image.new("RGB", (90, 160), (200, 80, 30)).save(still, "PNG")
    r = api.post("/api/v1/vitascope/generations", data={"prompt": "the sun sets", "duration": "1"},
                 files={"image": ("still.png", still.getvalue(), "image/png")})
    assert r.status_code == 202, r.text
    done = wait_job(api, r.json()["id"])
    assert done["state"] == "done" and done["media_attachment"]["provenance"]["verified"]
    r = api.post("/api/v1/vitascope/generations", data={"prompt": "the sun sets"},
                 files={"image": ("still.png", b"not an image", "image/png")})
    assert r.status_code == 422 and "image cannot be read" in r.json()["error"]


def test_jobs_that_end_while_the_web_process_is_down_are_collected_when_it_returns(gen_node, tmp_path):
    client = gen_node.mastodon()
    api = gen_node.api(client.access_token)
    gen_node.worker.stop()
    job = generate(api, prompt="a harbour at low tide", duration=1)
    gen_node.stop()
    gen_node.worker = gen_node.start_worker()  # renders while no web process listens
    results = redis.Redis.from_url(gen_node.redis_url)
    try:
        deadline = time.time() + 120
        while not results.exists(f"arq:result:{job['id']}"):
            assert time.time() < deadline, gen_node.worker.log()
            time.sleep(0.1)
    finally:
        results.close()
    gen_node.start()
    done = wait_job(api, job["id"])
    assert done["state"] == "done", done
    verdict = verify_video(download(done["media_attachment"]["url"], tmp_path / "v.mp4"), node_cas(gen_node))
    assert verdict.ok and verdict.claim["job_id"] == job["id"]
