"""The contract between the web process and the generation workers, written once for both.

Standard library only: the web process imports this module (and `generation/__init__.py`, which
imports nothing) but never the rest of the package, which pulls in torch. The worker's own
dataclasses (`generation.spec`) validate what arrives; the field lists below name the same keys.

* Enqueue on queue ``vitascope:gen`` (`QUEUE_NAME`) the function ``"generate"`` (`FUNCTION_NAME`)
  with one positional argument, the JobSpec dict (keys `SPEC_FIELDS`), and the keyword arguments
  of `enqueue_kwargs` (``_job_id=spec["job_id"]``).
* Priority: arq runs a queue in order of score, which is the time a job may start. Credit jobs
  are enqueued with ``_defer_until = now - PRIORITY_LEAD`` (one hour) and an explicit
  ``_expires`` (arq derives the key lifetime from the score otherwise). They start before every
  free job that has waited less than an hour, in arrival order among themselves; a free job
  that has waited longer keeps its place, so heavy paid traffic cannot starve free users forever.
  One queue keeps arq's delivery, retry and abort rules intact, which two queues polled by one
  worker would not.
* Progress: hash ``vitascope:gen:progress:<job_id>`` (`PROGRESS_KEY`) = {state, step, total,
  eta_seconds} and a JSON message on channel ``vitascope:gen:events`` (`EVENTS_CHANNEL`) =
  {job_id, state, step, total, eta_seconds, error?}, with state running | done | failed | cancelled.
* Cancel: set key ``vitascope:gen:cancel:<job_id>`` (`CANCEL_KEY`, any value, with a TTL). The
  worker checks it before the job starts and after every denoising step, stops, and deletes
  no-one else's files.
* Results: success returns ``JobResult.to_dict()`` (keys `RESULT_FIELDS`, its model `MODEL_FIELDS`).
  Failures raise only built-in exceptions (ValueError for an invalid spec, RuntimeError
  "cancelled: ..." or "<Error>: ..." otherwise), so the web can read arq results without
  unpickling classes from this package.
* Cameo verification: function ``"verify_cameo_capture"`` (`VERIFY_FUNCTION_NAME`) on the same
  queue, one dict {job_id, capture, reference_path}; see `generation.worker`.
* Liveness: each worker keeps arq's health check at `HEALTH_KEY`, and the jobs it holds in the set
  `CLAIM_KEY` (see `generation.worker.recover_claims`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

QUEUE_NAME = "vitascope:gen"
FUNCTION_NAME = "generate"
VERIFY_FUNCTION_NAME = "verify_cameo_capture"
EVENTS_CHANNEL = "vitascope:gen:events"
PROGRESS_KEY = "vitascope:gen:progress:{job_id}"
CANCEL_KEY = "vitascope:gen:cancel:{job_id}"
CLAIM_KEY = "vitascope:gen:claim:{worker}"
HEALTH_KEY = "vitascope:gen:health:{worker}"
PRIORITY_LEAD = timedelta(hours=1)
PRIORITY_EXPIRES = timedelta(days=1)

ASPECTS = ("9:16", "1:1", "16:9")
MAX_DURATION_S = 10.0
MAX_PROMPT_CHARS = 2000
MAX_SEED = 2**63 - 1
MAX_CAMEOS = 2  # cameos one video may show

SPEC_FIELDS = ("job_id", "prompt", "negative_prompt", "duration", "aspect", "seed", "audio", "output_dir",
               "source_video", "image", "strength", "cameo_references", "voice_sample", "voice_text", "voice_required",
               "transfer")
RESULT_FIELDS = ("job_id", "video_path", "poster_path", "width", "height", "duration", "fps", "has_audio",
                 "model", "steps", "voice_cloned")
MODEL_FIELDS = ("name", "version", "weights_digest", "test_model", "family")


def enqueue_kwargs(spec: dict[str, Any], *, priority: bool) -> dict[str, Any]:
    """Keyword arguments for `ArqRedis.enqueue_job(FUNCTION_NAME, spec, **kwargs)`; see Priority above."""
    kwargs: dict[str, Any] = {"_job_id": spec["job_id"], "_queue_name": QUEUE_NAME}
    if priority:
        kwargs["_defer_until"] = datetime.now(UTC) - PRIORITY_LEAD
        kwargs["_expires"] = PRIORITY_EXPIRES
    return kwargs
