"""`vitascope admin rotate-signing-key [--ca]`: renew the node's C2PA signing certificate (and start a
new CA with --ca; the old one stays published so earlier videos still verify)."""

from __future__ import annotations

from node.cli.common import add_config_option, config_from


def register(admin) -> None:
    rotate = admin.add_parser("rotate-signing-key", help="renew the C2PA signing certificate (and the CA with --ca)")
    rotate.add_argument("--ca", action="store_true", help="also start a new CA (the old one stays published)")
    add_config_option(rotate)
    rotate.set_defaults(func=cmd_rotate)


def cmd_rotate(args) -> int:
    from node.app import load_identity

    config = config_from(args)
    identity = load_identity(config)
    if args.ca:
        identity.rotate_ca()
    else:
        identity.rotate_leaf()
    print(f"rotated the {'CA and ' if args.ca else ''}signing certificate; new one valid until "
          f"{identity.leaf_not_after.isoformat()}; {len(identity.published_ca_pems)} CA(s) published")
    print("restart the web process to sign with it")
    return 0
