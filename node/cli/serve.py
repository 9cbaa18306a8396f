"""`vitascope serve [--host H] [--port P] [--processes N]`: the web process (and, by default, embedded
Redis and a worker); with N > 1, a parent running N web processes (node.server.serve_processes)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys

from node import ids
from node.cli.common import add_config_option
from node.config import ConfigError, load_config


def register(sub) -> None:
    serve = sub.add_parser("serve", help="run the web process (and, by default, embedded Redis and a worker)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--processes", type=int, help="web processes (server.processes; more than 1 needs PostgreSQL)")
    # set by the parent of several web processes on each child: which one it is
    serve.add_argument("--process-index", type=int, help=argparse.SUPPRESS)
    serve.add_argument("--id-bits", type=int, help=argparse.SUPPRESS)  # its own bits in new ids (node.ids)
    add_config_option(serve)
    serve.set_defaults(func=cmd_serve)


def cmd_serve(args) -> int:
    from node.app import create_app
    from node.server import serve, serve_processes

    overrides = {}
    if args.host or args.port or args.processes is not None:
        overrides["server"] = {k: v for k, v in (("host", args.host), ("port", args.port),
                                                 ("processes", args.processes)) if v is not None}
    try:
        config = load_config(args.config, overrides=overrides or None)
    except ConfigError as exc:
        print(f"vitascope: configuration error: {exc}", file=sys.stderr)
        return 2
    if config["server.processes"] > 1 and args.process_index is None:
        print(f"Vitascope serving {config.base_url} with {config['server.processes']} web processes "
              f"(database {config.database_url.split('@')[-1]}, "
              f"redis {'embedded' if config.embedded_redis else 'external'})", flush=True)
        serve_processes(config, [sys.executable, "-m", "node.cli", *sys.argv[1:]])
        return 0
    if args.id_bits is not None:
        ids.set_process_bits(args.id_bits)
    app = create_app(config, args.process_index)
    app.on_startup.append(_freeze_startup_objects)
    if args.process_index is None:
        print(f"Vitascope serving {config.base_url} (database {config.database_url.split('@')[-1]}, "
              f"redis {'embedded' if config.embedded_redis else 'external'})", flush=True)
    serve(app, config, _event_loop(config["server.event_loop"]))
    return 0


async def _freeze_startup_objects(app) -> None:
    """Modules, models and caches live as long as the process: keep the collector off them."""
    gc.freeze()


def _event_loop(name: str) -> asyncio.AbstractEventLoop:
    if name == "uvloop":
        import uvloop  # only when [server] event_loop asks for it

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()
