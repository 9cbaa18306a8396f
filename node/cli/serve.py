"""`vitascope serve [--host H] [--port P]`: the web process (and, by default, embedded Redis and a worker)."""

from __future__ import annotations

import asyncio
import sys

from node.cli.common import add_config_option
from node.config import ConfigError, load_config


def register(sub) -> None:
    serve = sub.add_parser("serve", help="run the web process (and, by default, embedded Redis and a worker)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    add_config_option(serve)
    serve.set_defaults(func=cmd_serve)


def cmd_serve(args) -> int:
    from node.app import create_app
    from node.server import serve

    overrides = {}
    if args.host or args.port:
        overrides["server"] = {k: v for k, v in (("host", args.host), ("port", args.port)) if v}
    try:
        config = load_config(args.config, overrides=overrides or None)
    except ConfigError as exc:
        print(f"vitascope: configuration error: {exc}", file=sys.stderr)
        return 2
    app = create_app(config)
    app.on_startup.append(_freeze_startup_objects)
    print(f"Vitascope serving {config.base_url} (database {config.database_url.split('@')[-1]}, "
          f"redis {'embedded' if config.embedded_redis else 'external'})", flush=True)
    serve(app, config, _event_loop(config["server.event_loop"]))
    return 0


async def _freeze_startup_objects(app) -> None:
    """Modules, models and caches live as long as the process: keep the collector off them."""
    import gc

    gc.freeze()


def _event_loop(name: str) -> asyncio.AbstractEventLoop:
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()
