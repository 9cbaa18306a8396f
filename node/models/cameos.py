"""Cameos: a person's (or character's) verified likeness, who may use it, and the ledger of its uses."""

from __future__ import annotations

from tortoise import fields

from node.models.base import SnowflakeModel

CAMEO_STATES = ("pending", "verified", "rejected", "needs_review")
POLICIES = ("only_me", "approve", "mutuals", "everyone")
USE_STATES = ("pending", "granted", "denied", "revoked")


class CameoChallenge(SnowflakeModel):
    """The random phrase a person reads in their capture; valid a few minutes, used once."""

    account = fields.ForeignKeyField("models.Account", related_name="cameo_challenges", on_delete=fields.CASCADE)
    phrase = fields.CharField(max_length=255)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "cameo_challenges"


class Cameo(SnowflakeModel):
    """One likeness. The capture and the reference sheet are private files under the data dir
    (never served, deleted with the row); only their digest is published."""

    account = fields.ForeignKeyField("models.Account", related_name="cameos", on_delete=fields.CASCADE)
    kind = fields.CharField(max_length=16)  # person | character
    name = fields.CharField(max_length=100)
    handle = fields.CharField(max_length=30, unique=True)
    state = fields.CharField(max_length=16, default="pending", db_index=True)
    review_reason = fields.TextField(null=True)
    evidence = fields.JSONField(default=list)
    challenge_phrase = fields.CharField(max_length=255, null=True)
    challenge_issued_at = fields.DatetimeField(null=True)
    capture_path = fields.CharField(max_length=1024)
    reference_path = fields.CharField(max_length=1024, null=True)
    likeness_digest = fields.CharField(max_length=128, null=True)
    policy = fields.CharField(max_length=16, default="only_me")
    allow = fields.JSONField(default=list)  # account ids (strings) always allowed
    deny = fields.JSONField(default=list)  # account ids (strings) never allowed
    restrictions = fields.TextField(default="")
    expires_at = fields.DatetimeField(null=True)
    revoked_all_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "cameos"


class CameoUse(SnowflakeModel):
    """The owner's ledger: one use of a cameo in one generation (drafts included). `grant` is the
    signed CameoAuthorization, hosted at its id until revoked (then 410)."""

    cameo = fields.ForeignKeyField("models.Cameo", related_name="uses", on_delete=fields.CASCADE)
    creator = fields.ForeignKeyField("models.Account", related_name="cameo_uses", on_delete=fields.CASCADE)
    job_id = fields.BigIntField(db_index=True)
    prompt = fields.TextField()
    state = fields.CharField(max_length=16, default="pending", db_index=True)
    grant = fields.JSONField(null=True)
    decided_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    # A use by a creator on another node (their CameoRequest): `job_id` is then only a unique
    # number; `post_uri` is the post the grant is bound to, `request_uri` the request answered,
    # `remote_state` what the renderer last reported (requested, rendered, failed, posted, deleted)
    # and `status_uri` the Note that posted it. A local use records only a deletion there ("deleted"
    # and the deleted post's uri): its other states are its generation's.
    post_uri = fields.CharField(max_length=2048, null=True)
    request_uri = fields.CharField(max_length=2048, null=True)
    remote_state = fields.CharField(max_length=16, null=True)
    status_uri = fields.CharField(max_length=2048, null=True)

    class Meta:
        table = "cameo_uses"


class CameoRequestOut(SnowflakeModel):
    """The renderer's side of a use of a cameo hosted on another node: the CameoRequest this node
    sent for one generation, the owner's answer (the signed grant) and the grant's fate."""

    job_id = fields.BigIntField(db_index=True)
    creator = fields.ForeignKeyField("models.Account", related_name="cameo_requests_out", on_delete=fields.CASCADE)
    cameo_uri = fields.CharField(max_length=2048)
    owner_uri = fields.CharField(max_length=2048)
    request_uri = fields.CharField(max_length=2048, unique=True)
    post_uri = fields.CharField(max_length=2048)
    prompt = fields.TextField()
    state = fields.CharField(max_length=16, default="pending", db_index=True)  # pending|granted|denied|revoked
    reason = fields.TextField(null=True)
    grant_uri = fields.CharField(max_length=2048, null=True, db_index=True)
    grant = fields.JSONField(null=True)
    owner_key = fields.JSONField(null=True)
    sent_at = fields.DatetimeField(null=True)
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "cameo_requests_out"


class CameoGrantCheck(SnowflakeModel):
    """A grant a remote post we stored depends on: a received revocation (Delete of the grant)
    takes the post down at once, and the grant is dereferenced again by `recheck_at`."""

    status = fields.ForeignKeyField("models.Status", related_name="cameo_grant_checks", on_delete=fields.CASCADE)
    grant_uri = fields.CharField(max_length=2048, db_index=True)
    owner_uri = fields.CharField(max_length=2048)
    recheck_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "cameo_grant_checks"


class CameoGrantTombstone(SnowflakeModel):
    """A grant whose cameo was deleted (its use row went with it): its URL answers 410, not 404,
    so that holders of the grant learn it is no longer in force. `id` is the former use's id."""

    class Meta:
        table = "cameo_grant_tombstones"
