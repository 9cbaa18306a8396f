"""`vitascope admin …`: one module per admin command, named after it (`admin domain-block` is
domain_block.py). The `admin` parser is built here once; each module adds its command to it."""

from __future__ import annotations

from node.cli.admin import (
    alias,
    approve_user,
    cameos,
    create_user,
    credits,
    domain_block,
    grant_credits,
    inbox,
    list_users,
    move,
    optout,
    prompt_refusals,
    prune,
    recount,
    rotate_signing_key,
    trust,
)
from node.cli.common import add_config_option

# In `vitascope admin --help` order.
COMMANDS = (create_user, list_users, approve_user, grant_credits, credits, optout, prompt_refusals, trust,
            rotate_signing_key, inbox, recount, prune, alias, move, domain_block, cameos)


def register(sub) -> None:
    admin = sub.add_parser("admin", help="administration")
    add_config_option(admin)
    commands = admin.add_subparsers(dest="admin_command", required=True)
    for command in COMMANDS:
        command.register(commands)
