"""Why a remote thing could not be used, shared by the modules that fetch, store and process it."""


class ResolveError(Exception):
    """A remote actor or object could not be had; the message says why."""


class MediaRefused(Exception):
    """A remote video may not be kept: not the file its author published (digest mismatch), or its
    provenance fails this node's policy."""


class Ignored(Exception):
    """Nothing to do for this activity (or post); the reason is recorded on the inbox item."""
