"""Which peer nodes' C2PA certificate authorities this node trusts."""

from __future__ import annotations

from tortoise import fields

from node.models.base import SnowflakeModel

TRUST_STATES = ("pinned", "trusted", "distrusted")


class NodeTrust(SnowflakeModel):
    """A peer's published CA certificates.

    pinned: learned on first use from the peer itself; trusted/distrusted: an admin decided.
    """

    domain = fields.CharField(max_length=255, unique=True)
    ca_pems = fields.TextField(default="")  # concatenated PEM certificates, oldest first
    state = fields.CharField(max_length=16, default="pinned")
    note = fields.TextField(default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "node_trust"
