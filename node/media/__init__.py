"""Media files of the web process: where they live (`store`: media_dir or an S3-compatible bucket),
what a stored video is (`files`: probing, posters, paths) and who may fetch one (`access`: plain or
signed URLs). Attachments themselves are written by node.services.media."""
