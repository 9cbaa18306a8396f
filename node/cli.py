"""The `vitascope` command: serve, worker, migrate, admin, generate, verify."""

from __future__ import annotations

import argparse
import asyncio
import sys

from node import logs
from node.config import ConfigError, load_config


def _config(args):
    try:
        return load_config(getattr(args, "config", None))
    except ConfigError as exc:
        print(f"vitascope: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)


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


async def _with_db(config, fn):
    from node import db

    await db.migrate(config.database_url)
    await db.connect(config.database_url)
    try:
        return await fn()
    finally:
        await db.close()


def _offline_node(config):
    """A Node for CLI commands: storage and URLs, no Redis needed."""
    from node.context import Node
    from node.media_access import node_urls

    class _NoRedis:
        async def publish(self, *a, **k):
            return 0

    return Node(config=config, urls=node_urls(config), redis=_NoRedis())


def cmd_migrate(args) -> int:
    from node import db

    config = _config(args)
    asyncio.run(db.migrate(config.database_url))
    print("migrations applied")
    return 0


def cmd_create_user(args) -> int:
    from node.errors import ApiError
    from node.services.accounts import create_user

    config = _config(args)
    node = _offline_node(config)

    async def run():
        return await create_user(node, args.name, args.password, email=args.email, admin=args.admin)

    try:
        user = asyncio.run(_with_db(config, run))
    except ApiError as exc:
        print(f"vitascope: {exc.message}", file=sys.stderr)
        return 1
    print(f"created {'admin ' if args.admin else ''}user {user.account.username} (id {user.account.id})")
    return 0


def cmd_list_users(args) -> int:
    from node.models import User

    config = _config(args)

    async def run():
        return await User.all().prefetch_related("account").order_by("id")

    users = asyncio.run(_with_db(config, run))
    print(f"{'id':<20} {'username':<30} {'email':<30} admin approved")
    for u in users:
        print(f"{u.account.id:<20} {u.account.username:<30} {u.email or '-':<30} {'yes' if u.admin else 'no':<5} "
              f"{'yes' if u.approved else 'no'}")
    return 0


def cmd_approve_user(args) -> int:
    from node.models import Account, User

    config = _config(args)

    async def run():
        account = await Account.get_or_none(domain=None, username__iexact=args.name)
        if account is None:
            return 0
        return await User.filter(account_id=account.id).update(approved=True)

    if not asyncio.run(_with_db(config, run)):
        print(f"vitascope: no local user {args.name}", file=sys.stderr)
        return 1
    print(f"approved {args.name}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vitascope", description="Vitascope federated video node")
    parser.add_argument("--config", help="TOML file overriding config/default.toml")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web process (and, by default, embedded Redis and a worker)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--config", default=argparse.SUPPRESS)
    serve.set_defaults(func=cmd_serve)

    mig = sub.add_parser("migrate", help="apply database migrations")
    mig.add_argument("--config", default=argparse.SUPPRESS)
    mig.set_defaults(func=cmd_migrate)

    admin = sub.add_parser("admin", help="administration")
    admin.add_argument("--config", default=argparse.SUPPRESS)
    asub = admin.add_subparsers(dest="admin_command", required=True)
    cu = asub.add_parser("create-user", help="create a local user")
    cu.add_argument("name")
    cu.add_argument("--password", required=True)
    cu.add_argument("--email")
    cu.add_argument("--admin", action="store_true")
    cu.add_argument("--config", default=argparse.SUPPRESS)
    cu.set_defaults(func=cmd_create_user)
    lu = asub.add_parser("list-users", help="list local users")
    lu.add_argument("--config", default=argparse.SUPPRESS)
    lu.set_defaults(func=cmd_list_users)
    ap = asub.add_parser("approve-user", help="approve a sign-up waiting for approval")
    ap.add_argument("name")
    ap.add_argument("--config", default=argparse.SUPPRESS)
    ap.set_defaults(func=cmd_approve_user)
    return parser


# Other packages (generation, provenance wiring) add subcommands here.
EXTRA_COMMANDS: list[str] = ["node.generation_cli", "node.provenance_cli", "node.activitypub.cli", "node.admin_cli",
                                 "node.account_cli", "node.moderation_cli", "node.cameo_cli"]


def main(argv: list[str] | None = None) -> int:
    logs.configure()
    parser = build_parser()
    import importlib

    for name in EXTRA_COMMANDS:
        importlib.import_module(name).register(parser._subparsers._group_actions[0])
    args = parser.parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
