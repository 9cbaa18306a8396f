"""`vitascope generate "prompt" --user NAME [--post] […]`: a video for a local user through the running
node's API (a short-lived token of the "Vitascope CLI" app), with a progress bar from the job's events."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from node.cli.common import add_config_option, config_from, with_db
from node.config import Config

CLI_APP_NAME = "Vitascope CLI"


def register(sub) -> None:
    gen = sub.add_parser("generate", help="generate a video for a user, with a progress bar")
    add_config_option(gen)
    gen.add_argument("prompt")
    gen.add_argument("--user", required=True, help="local username the video is made for")
    gen.add_argument("--negative", help="negative prompt")
    gen.add_argument("--duration", type=float, help="seconds, at most 10 (default 5)")
    gen.add_argument("--aspect", choices=("9:16", "1:1", "16:9"))
    gen.add_argument("--seed", type=int)
    gen.add_argument("--no-audio", action="store_true")
    gen.add_argument("--publish-prompt", action="store_true", help="write the prompt text into the C2PA claim")
    gen.add_argument("--remix-of", help="id of the status whose video to remix")
    gen.add_argument("--use-credit", action="store_true")
    gen.add_argument("--post", action="store_true", help="post the video as a status when it is done")
    gen.add_argument("--text", default="", help="status text for --post")
    gen.add_argument("--visibility", choices=("public", "unlisted", "private", "direct"), default="public")
    gen.set_defaults(func=cmd_generate)



def _local_api(config: Config) -> str:
    host = config.host if config.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    return f"http://{'[' + host + ']' if ':' in host else host}:{config.port}"


def cmd_generate(args) -> int:
    config = config_from(args)
    return asyncio.run(with_db(config, lambda: _generate(config, args)))


async def _generate(config: Config, args) -> int:
    import aiohttp

    from node.models import OAuthApplication, User
    from node.services.oauth import create_application, issue_token, revoke

    user = await User.get_or_none(account__username=args.user, account__domain=None).prefetch_related("account")
    if user is None:
        print(f"vitascope: no local user {args.user!r}", file=sys.stderr)
        return 1
    app = await OAuthApplication.filter(name=CLI_APP_NAME).order_by("id").first()
    if app is None:
        app = await create_application(CLI_APP_NAME, ["urn:ietf:wg:oauth:2.0:oob"], "read write", None)
    token = await issue_token(app, user, "read write")
    body: dict[str, Any] = {"prompt": args.prompt, "audio": not args.no_audio, "publish_prompt": args.publish_prompt,
                            "use_credit": args.use_credit}
    for key, value in (("negative_prompt", args.negative), ("duration", args.duration), ("aspect", args.aspect),
                       ("seed", args.seed), ("remix_of_id", args.remix_of)):
        if value is not None:
            body[key] = value
    base = _local_api(config)
    headers = {"Authorization": f"Bearer {token.token}"}
    try:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as http:
            async with http.post(f"{base}/api/v1/vitascope/generations", json=body) as response:
                job = await response.json()
                if response.status >= 400:
                    print(f"vitascope: {job.get('error', response.reason)}", file=sys.stderr)
                    return 1
            print(f"generation {job['id']} queued (model {job['model']['name']}"
                  f"{', test model' if job['model']['test_model'] else ''})", flush=True)
            job = await _follow(http, base, job)
            if job["state"] != "done":
                print(f"generation {job['state']}" + (f": {job['error']}" if job.get("error") else ""), file=sys.stderr)
                return 1
            media = job["media_attachment"]
            print(f"done: {media['url']} (media {media['id']}, {media['meta']['original']['duration']} s, "
                  f"verified: {media['provenance']['verified']})")
            if args.post:
                async with http.post(f"{base}/api/v1/statuses", json={"status": args.text, "media_ids": [media["id"]],
                                                                      "visibility": args.visibility}) as response:
                    status = await response.json()
                    if response.status >= 400:
                        print(f"vitascope: posting failed: {status.get('error')}", file=sys.stderr)
                        return 1
                print(f"posted: {status['url']}")
            return 0
    except aiohttp.ClientError as exc:
        print(f"vitascope: cannot reach the node at {base} ({exc}); is `vitascope serve` running?", file=sys.stderr)
        return 1
    finally:
        await revoke(app, None, token.token)


async def _follow(http, base: str, job: dict[str, Any]) -> dict[str, Any]:
    """Read the job's Server-Sent Events, drawing a progress bar, until it ends."""
    bar = ProgressBar(sys.stdout)
    async with http.get(f"{base}/api/v1/vitascope/generations/{job['id']}/events") as response:
        response.raise_for_status()
        data = []
        async for raw in response.content:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("data:"):
                data.append(line[5:].strip())
            elif not line and data:
                job = json.loads("\n".join(data))
                data = []
                bar.show(job)
                if job["state"] not in ("queued", "running"):
                    break
    bar.close()
    return job


class ProgressBar:
    WIDTH = 30

    def __init__(self, out) -> None:
        self.out = out
        self.tty = out.isatty()
        self.last = None

    def show(self, job: dict[str, Any]) -> None:
        progress = job["progress"]
        step, total = progress["step"] or 0, progress["total"] or 0
        if job["state"] == "queued":
            text = "queued"
        else:
            filled = int(self.WIDTH * step / total) if total else 0
            eta = progress.get("eta_seconds")
            text = (f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] step {step}/{total or '?'}"
                    + (f"  ETA {eta:.1f} s" if isinstance(eta, (int, float)) and job["state"] == "running" else "")
                    + ("" if job["state"] == "running" else f"  {job['state']}"))
        if self.tty:
            self.out.write("\r" + text.ljust(72))
        elif text != self.last:
            self.out.write(text + "\n")
        self.out.flush()
        self.last = text

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")
            self.out.flush()
