"""Which prompts this node renders. Conservative by default: a prompt is refused when it

1. contains a term of the configured blocklist (`moderation.prompt_blocklist`);
2. names a work or mark from the copyright opt-out registry (admins keep it: CLI or admin API);
3. is refused by a pluggable classifier (`moderation.prompt_classifiers` lists "module:function"
   import paths; code can also append to `node.extras["prompt_classifiers"]`);
4. names a real person — found by the person finders — for whom no consent provider returns a
   grant. The default finder treats every @mention of a known account (other than the
   requester) as naming that person, and there is no default consent provider, so such
   prompts are refused. The cameo feature plugs in here: it appends a finder for verified
   people (`node.extras["person_finders"]`) and a consent provider returning the signed grant
   (`node.extras["consent_providers"]`); grants that allowed a prompt go into the C2PA claim.
   A provider gets the id of the generation the prompt is for (minted up front: the grant is
   bound to it); it may raise `ConsentRefused` (its reason is the refusal) or return
   `ConsentPending` (the owner decides by hand: the generation waits).

Every refusal names its reason to the requester and is stored for moderators (PromptRefusal).
"""

from __future__ import annotations

import importlib
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from node.context import Node
from node.models import Account, CopyrightOptOut
from node.services.statuses import resolve_mentions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refusal:
    rule: str  # blocklist | opt_out | classifier | person
    reason: str


@dataclass(frozen=True)
class NamedPerson:
    """Someone a prompt names: `uri` identifies the actor whose consent is needed."""

    uri: str
    label: str  # how the prompt named them, for the refusal message


@dataclass(frozen=True)
class ConsentPending:
    """The person's owner decides this use by hand; the generation waits for the answer."""

    request_id: int


class ConsentRefused(Exception):
    """A consent provider's explicit no, with the reason shown to the requester."""


@dataclass
class PromptCheck:
    """The outcome: a refusal, or the consent grants that allowed the people the prompt names
    (and the requests still waiting for an owner's answer)."""

    refusal: Refusal | None = None
    cameo_grants: list[dict[str, Any]] = field(default_factory=list)
    pending: list[ConsentPending] = field(default_factory=list)


Classifier = Callable[[Node, Account, str], Awaitable[str | None]]
"""classifier(node, requester, prompt) -> a refusal reason, or None to allow."""
PersonFinder = Callable[[Node, Account, str], Awaitable[list[NamedPerson]]]
ConsentProvider = Callable[..., Awaitable["dict[str, Any] | ConsentPending | None"]]
"""consent(node, requester, person, prompt, *, job_id) -> a grant (JSON-able, goes into the
manifest), ConsentPending, or None (not this provider's person); raises ConsentRefused."""


class ClassifierUnavailable(Exception):
    """A classifier failed: the prompt cannot be judged, so it is not rendered (fail closed)."""


def normalise(text: str) -> str:
    """Case-folded, compatibility-normalised words separated by single spaces (so 'Mickey-Mouse',
    'MICKEY  mouse' and 'ｍｉｃｋｅｙ mouse' all read 'mickey mouse')."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.findall(r"\w+", text))


def contains_term(normalised_prompt: str, term: str) -> bool:
    wanted = normalise(term)
    return bool(wanted) and re.search(rf"(?<!\w){re.escape(wanted)}(?!\w)", normalised_prompt) is not None


def load_classifiers(paths: list[str]) -> list[Classifier]:
    """Import "package.module:function" classifiers named in the config; a bad path stops start-up."""
    found = []
    for path in paths:
        module_name, _, attr = path.partition(":")
        if not module_name or not attr:
            raise ValueError(f"moderation.prompt_classifiers: {path!r} is not 'module:function'")
        found.append(getattr(importlib.import_module(module_name), attr))
    return found


async def mentioned_accounts(node: Node, requester: Account, prompt: str) -> list[NamedPerson]:
    """Default person finder: @name and @name@host mentions of accounts this node knows."""
    return [NamedPerson(uri=a.uri, label="@" + (a.acct() if a.domain else a.username))
            for a in await resolve_mentions(node, prompt) if a.id != requester.id]


async def check_prompt(node: Node, requester: Account, prompt: str, *, job_id: int) -> PromptCheck:
    normalised = normalise(prompt)
    for term in node.config["moderation.prompt_blocklist"]:
        if contains_term(normalised, term):
            return PromptCheck(Refusal("blocklist", f"the prompt contains the blocked term {term!r}"))
    for opt_out in await CopyrightOptOut.all().order_by("id"):
        for term in opt_out.terms:
            if contains_term(normalised, term):
                return PromptCheck(Refusal(
                    "opt_out", f"{opt_out.holder} opted out of generation (copyright opt-out registry: {term!r})"))
    for classifier in node.extras.get("prompt_classifiers", []):
        try:
            reason = await classifier(node, requester, prompt)
        except Exception as exc:
            log.exception("prompt classifier %r failed", classifier)
            raise ClassifierUnavailable(f"the prompt classifier failed ({type(exc).__name__})") from exc
        if reason:
            return PromptCheck(Refusal("classifier", str(reason)))
    checked = PromptCheck()
    for finder in [mentioned_accounts, *node.extras.get("person_finders", [])]:
        for person in await finder(node, requester, prompt):
            grant = None
            for provider in node.extras.get("consent_providers", []):
                try:
                    grant = await provider(node, requester, person, prompt, job_id=job_id)
                except ConsentRefused as exc:
                    return PromptCheck(Refusal("person", str(exc)))
                if grant is not None:
                    break
            if grant is None:
                return PromptCheck(Refusal(
                    "person", f"the prompt names {person.label}, a real person, and no consent grant allows it"))
            if isinstance(grant, ConsentPending):
                checked.pending.append(grant)
            elif grant not in checked.cameo_grants:  # one cameo named twice (handle and @mention) is one use
                checked.cameo_grants.append(grant)
    return checked

