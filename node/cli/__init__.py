"""The `vitascope` command. One module per command, named after it (`vitascope delete-account` is
delete_account.py; `vitascope admin …` is the admin package); what they share is in common.py.
Each command imports what it runs inside its function (not to dodge a circle: there is none), so
starting one loads only what that command runs, not the stacks of the others.

    vitascope [--config FILE] serve | migrate | admin … | worker | generate | verify | delivery-worker
                              | delete-account
"""

from __future__ import annotations

import argparse

from node import logs
from node.cli import admin, delete_account, delivery_worker, generate, migrate, serve, verify, worker

# In `vitascope --help` order.
COMMANDS = (serve, migrate, admin, worker, generate, verify, delivery_worker, delete_account)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vitascope", description="Vitascope federated video node")
    parser.add_argument("--config", help="TOML file overriding config/default.toml")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logs.configure()
    args = build_parser().parse_args(argv)
    return args.func(args) or 0
