from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """Index media paths: GET /media/<path> finds its attachment by path to tell public from private."""

    dependencies = [('models', '0005_web_push')]

    initial = False

    operations = [
        ops.AddIndex(model_name='MediaAttachment', index=Index(fields=['file_path'])),
        ops.AddIndex(model_name='MediaAttachment', index=Index(fields=['preview_path'])),
    ]
