"""Exceptions raised by the generation package.

They carry only plain values (strings), so arq can pickle them into job results and
the web process can read them without importing anything from this package.
"""

from __future__ import annotations


class GenerationError(Exception):
    """Base class for every failure this package reports on purpose."""


class SpecError(GenerationError, ValueError):
    """A job specification (or a model configuration) is invalid."""


class ModelLoadError(GenerationError):
    """A model directory is missing, incomplete, or of the wrong family."""


class MediaError(GenerationError):
    """A source image or video cannot be read, or an output cannot be written."""


class JobCancelled(GenerationError):
    """The job was cancelled before or while it rendered; no output file was left behind."""

    def __init__(self, job_id: str) -> None:
        super().__init__(job_id)
        self.job_id = job_id

    def __str__(self) -> str:
        return f"job {self.job_id} was cancelled"
