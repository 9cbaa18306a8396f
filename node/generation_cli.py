"""CLI for generation (node.cli EXTRA_COMMANDS):

    vitascope worker [--name N] [--device cuda:0] [--max-jobs K]     run one GPU's worker
    vitascope generate "prompt" --user NAME [--post] [...]            through the running node's API
    vitascope admin grant-credits NAME N | credits NAME
    vitascope admin optout add HOLDER TERM [TERM ...] | list | remove ID
    vitascope admin prompt-refusals [--limit N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from node.cli import _config, _with_db
from node.config import Config

CLI_APP_NAME = "Vitascope CLI"


def register(subparsers: argparse._SubParsersAction) -> None:
    worker = subparsers.add_parser("worker", help="run a generation worker (one per GPU) with this node's config")
    worker.add_argument("--config", default=argparse.SUPPRESS)
    worker.add_argument("--name", help="stable unique name of this GPU's worker (default: generation.worker_name "
                                       "or <hostname>:<device>)")
    worker.add_argument("--device", help="torch device, e.g. cuda:1 (default: generation.device)")
    worker.add_argument("--max-jobs", type=int, help="jobs held at once (default: generation.max_batch)")
    worker.set_defaults(func=cmd_worker)

    gen = subparsers.add_parser("generate", help="generate a video for a user, with a progress bar")
    gen.add_argument("--config", default=argparse.SUPPRESS)
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

    admin = subparsers.choices["admin"]
    asub = next(a for a in admin._actions if isinstance(a, argparse._SubParsersAction))
    grant = asub.add_parser("grant-credits", help="give a user generation credits (negative takes them back)")
    grant.add_argument("--config", default=argparse.SUPPRESS)
    grant.add_argument("name")
    grant.add_argument("amount", type=int)
    grant.set_defaults(func=cmd_grant_credits)
    show = asub.add_parser("credits", help="show a user's credits and today's free generations")
    show.add_argument("--config", default=argparse.SUPPRESS)
    show.add_argument("name")
    show.set_defaults(func=cmd_show_credits)

    optout = asub.add_parser("optout", help="the copyright opt-out registry")
    optout.add_argument("--config", default=argparse.SUPPRESS)
    osub = optout.add_subparsers(dest="optout_command", required=True)
    add = osub.add_parser("add", help="refuse prompts naming these terms")
    add.add_argument("--config", default=argparse.SUPPRESS)
    add.add_argument("holder", help="rights holder, shown in refusals")
    add.add_argument("terms", nargs="+", help="names and phrases to refuse (whole words, any case)")
    add.add_argument("--note", default="")
    add.set_defaults(func=cmd_optout_add)
    lst = osub.add_parser("list")
    lst.add_argument("--config", default=argparse.SUPPRESS)
    lst.set_defaults(func=cmd_optout_list)
    rm = osub.add_parser("remove")
    rm.add_argument("--config", default=argparse.SUPPRESS)
    rm.add_argument("id", type=int)
    rm.set_defaults(func=cmd_optout_remove)

    refusals = asub.add_parser("prompt-refusals", help="refused prompts, newest first (for moderators)")
    refusals.add_argument("--config", default=argparse.SUPPRESS)
    refusals.add_argument("--limit", type=int, default=50)
    refusals.set_defaults(func=cmd_refusals)


# ----- worker ----------------------------------------------------------------------------


def cmd_worker(args) -> int:
    """Exec `python -m generation.worker` with this node's settings (this process never imports torch)."""
    from node.generation_worker import (
        MISSING_EXTRA,
        embedded_redis_socket,
        generation_installed,
        worker_argv,
        worker_redis_url,
    )

    config = _config(args)
    if not generation_installed():
        print(f"vitascope: {MISSING_EXTRA}", file=sys.stderr)
        return 2
    if not config.redis_url and not embedded_redis_socket(config).exists():
        print(f"vitascope: no Redis: set redis.url, or start `vitascope serve` first (its embedded Redis listens "
              f"on {embedded_redis_socket(config)})", file=sys.stderr)
        return 2
    argv = worker_argv(config, worker_redis_url(config), name=args.name, device=args.device, max_jobs=args.max_jobs)
    sys.stdout.flush()
    os.execv(argv[0], argv)  # the worker takes over this process: signals reach it directly


# ----- generate --------------------------------------------------------------------------


def _local_api(config: Config) -> str:
    host = config.host if config.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    return f"http://{'[' + host + ']' if ':' in host else host}:{config.port}"


def cmd_generate(args) -> int:
    config = _config(args)
    return asyncio.run(_with_db(config, lambda: _generate(config, args)))


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


# ----- admin -----------------------------------------------------------------------------


async def _user(name: str):
    from node.models import User

    user = await User.get_or_none(account__username=name, account__domain=None).prefetch_related("account")
    if user is None:
        raise SystemExit(f"vitascope: no local user {name!r}")
    return user


def cmd_grant_credits(args) -> int:
    from node.services.generation import grant_credits

    config = _config(args)

    async def run():
        balance = await grant_credits(await _user(args.name), args.amount)
        print(f"{args.name} now has {balance} generation credit{'s' if balance != 1 else ''}")

    asyncio.run(_with_db(config, run))
    return 0


def cmd_show_credits(args) -> int:
    from node.cli import _offline_node
    from node.services.generation import quota_of

    config = _config(args)

    async def run():
        q = await quota_of(_offline_node(config), await _user(args.name))
        print(f"{args.name}: {q.credits} credits; {q.free_used} of {q.free_per_day} free generations used today "
              f"(resets {q.resets_at:%Y-%m-%d %H:%M} UTC)")

    asyncio.run(_with_db(config, run))
    return 0


def cmd_optout_add(args) -> int:
    from node.errors import ApiError
    from node.services.generation import add_opt_out

    config = _config(args)

    async def run():
        entry = await add_opt_out(args.holder, args.terms, note=args.note)
        print(f"added opt-out {entry.id}: {entry.holder}: {', '.join(entry.terms)}")

    try:
        asyncio.run(_with_db(config, run))
    except ApiError as exc:
        print(f"vitascope: {exc.message}", file=sys.stderr)
        return 1
    return 0


def cmd_optout_list(args) -> int:
    from node.models import CopyrightOptOut

    config = _config(args)

    async def run():
        for entry in await CopyrightOptOut.all().order_by("id"):
            note = f"  ({entry.note})" if entry.note else ""
            print(f"{entry.id:<20} {entry.holder:<30} {', '.join(entry.terms)}{note}")

    asyncio.run(_with_db(config, run))
    return 0


def cmd_optout_remove(args) -> int:
    from node.errors import ApiError
    from node.services.generation import remove_opt_out

    config = _config(args)
    try:
        asyncio.run(_with_db(config, lambda: remove_opt_out(args.id)))
    except ApiError:
        print(f"vitascope: no opt-out with id {args.id}", file=sys.stderr)
        return 1
    print(f"removed opt-out {args.id}")
    return 0


def cmd_refusals(args) -> int:
    from node.models import PromptRefusal

    config = _config(args)

    async def run():
        for r in await PromptRefusal.all().order_by("-id").limit(args.limit).prefetch_related("account"):
            print(f"{r.created_at:%Y-%m-%d %H:%M} {r.account.acct():<24} {r.rule:<10} {r.reason}\n    {r.prompt!r}")

    asyncio.run(_with_db(config, run))
    return 0
