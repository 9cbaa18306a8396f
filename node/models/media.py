"""Media attachments: on this network a video is always a generated, C2PA-signed file."""

from __future__ import annotations

from tortoise import fields

from node.models.base import SnowflakeModel


class MediaAttachment(SnowflakeModel):
    account = fields.ForeignKeyField("models.Account", related_name="media", on_delete=fields.CASCADE)
    status = fields.ForeignKeyField("models.Status", related_name="media", null=True, on_delete=fields.SET_NULL)
    type = fields.CharField(max_length=16, default="video")  # video | image | gifv | audio | unknown
    # Relative to media_dir; indexed: /media/ looks a file up by its path to tell public from private.
    file_path = fields.CharField(max_length=512, null=True, db_index=True)
    preview_path = fields.CharField(max_length=512, null=True, db_index=True)
    remote_url = fields.CharField(max_length=2048, null=True)
    preview_remote_url = fields.CharField(max_length=2048, null=True)
    content_type = fields.CharField(max_length=64, default="video/mp4")
    file_size = fields.BigIntField(default=0)
    width = fields.IntField(null=True)
    height = fields.IntField(null=True)
    duration = fields.FloatField(null=True)
    fps = fields.FloatField(null=True)
    has_audio = fields.BooleanField(default=False)
    blurhash = fields.CharField(max_length=64, null=True)
    description = fields.TextField(default="")
    focus_x = fields.FloatField(default=0.0)
    focus_y = fields.FloatField(default=0.0)
    sha256 = fields.CharField(max_length=64, null=True)  # hex of the exact file
    # The C2PA verdict for this file: verified?, signer node, AI origin, model, remix chain.
    provenance = fields.JSONField(null=True)
    manifest_id = fields.CharField(max_length=255, null=True)
    generation_id = fields.BigIntField(null=True)

    class Meta:
        table = "media_attachments"
