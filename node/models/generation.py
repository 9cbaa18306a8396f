"""Generation jobs, the credits that pay for them, and the prompt policy's records."""

from __future__ import annotations

from tortoise import fields

from node.models.base import SnowflakeModel

JOB_STATES = ("awaiting_consent", "queued", "running", "done", "failed", "cancelled")
ACTIVE_STATES = ("queued", "running")
# Not queued yet: a cameo's owner must approve the use first (then queued, or failed when denied).
WAITING_STATES = ("awaiting_consent",)
CHARGES = ("free", "credit")


class GenerationJob(SnowflakeModel):
    """One prompt on its way to a signed video.

    The row is the truth: the collector moves it queued → running (step i of N, ETA) → done | failed(reason) | cancelled, and a node that
    restarts finds every unfinished job here and settles it from the queue's records."""

    account = fields.ForeignKeyField("models.Account", related_name="generation_jobs", on_delete=fields.CASCADE)
    state = fields.CharField(max_length=16, default="queued", db_index=True)
    prompt = fields.TextField()
    negative_prompt = fields.TextField(null=True)
    # Only a prompt its author chose to publish is written into the C2PA claim (a digest always is).
    publish_prompt = fields.BooleanField(default=False)
    duration = fields.FloatField()
    aspect = fields.CharField(max_length=8, default="9:16")
    seed = fields.BigIntField()
    audio = fields.BooleanField(default=True)
    strength = fields.FloatField(default=0.6)
    has_image = fields.BooleanField(default=False)
    # Remix: the status whose (verified) video is the source; the uri survives the row's deletion.
    remix_of = fields.ForeignKeyField("models.Status", related_name="remix_jobs", null=True, on_delete=fields.SET_NULL)
    remix_of_uri = fields.CharField(max_length=2048, null=True)
    source_manifest_id = fields.CharField(max_length=255, null=True)
    # "credit" jobs spent an admin-granted credit; in peak mode they run before free jobs.
    charge = fields.CharField(max_length=8, default="free")
    priority = fields.BooleanField(default=False)
    cancel_requested = fields.BooleanField(default=False)
    step = fields.IntField(default=0)
    total_steps = fields.IntField(null=True)
    eta_seconds = fields.FloatField(null=True)
    error = fields.TextField(null=True)
    # Which weights made the video (known once a worker took the job; test_model marks the tiny model).
    model_name = fields.CharField(max_length=255, null=True)
    model_version = fields.CharField(max_length=255, null=True)
    weights_digest = fields.CharField(max_length=128, null=True)
    test_model = fields.BooleanField(null=True)
    cameo_grants = fields.JSONField(default=list)
    media = fields.ForeignKeyField("models.MediaAttachment", related_name="generation_jobs", null=True,
                                   on_delete=fields.SET_NULL)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "generation_jobs"


class GenerationCredits(SnowflakeModel):
    """Generations an admin granted a user on top of the daily free quota."""

    user = fields.OneToOneField("models.User", related_name="generation_credits", on_delete=fields.CASCADE)
    balance = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "generation_credits"


class CopyrightOptOut(SnowflakeModel):
    """A rights holder who asked that prompts naming their works or marks be refused."""

    holder = fields.CharField(max_length=255)
    terms = fields.JSONField(default=list)  # names and phrases, matched case-insensitively as whole words
    note = fields.TextField(default="")
    created_by = fields.ForeignKeyField("models.Account", related_name="copyright_opt_outs", null=True,
                                        on_delete=fields.SET_NULL)

    class Meta:
        table = "copyright_opt_outs"


class PromptRefusal(SnowflakeModel):
    """A refused prompt, kept for moderators: who asked, what, and which rule said no."""

    account = fields.ForeignKeyField("models.Account", related_name="prompt_refusals", on_delete=fields.CASCADE)
    prompt = fields.TextField()
    rule = fields.CharField(max_length=32)  # blocklist | opt_out | classifier | person
    reason = fields.TextField()

    class Meta:
        table = "prompt_refusals"
