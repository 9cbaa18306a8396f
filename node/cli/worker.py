"""`vitascope worker [--name N] [--device cuda:0] [--max-jobs K]`: run one GPU's generation worker."""

from __future__ import annotations

import os
import sys

from node.cli.common import add_config_option, config_from


def register(sub) -> None:
    worker = sub.add_parser("worker", help="run a generation worker (one per GPU) with this node's config")
    add_config_option(worker)
    worker.add_argument("--name", help="stable unique name of this GPU's worker (default: generation.worker_name "
                                       "or <hostname>:<device>)")
    worker.add_argument("--device", help="torch device, e.g. cuda:1 (default: generation.device)")
    worker.add_argument("--max-jobs", type=int, help="jobs held at once (default: generation.max_batch)")
    worker.set_defaults(func=cmd_worker)


def cmd_worker(args) -> int:
    """Exec `python -m generation.worker` with this node's settings (this process never imports torch)."""
    from node.generation.workers import (
        MISSING_EXTRA,
        embedded_redis_socket,
        generation_installed,
        worker_argv,
        worker_redis_url,
    )

    config = config_from(args)
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
