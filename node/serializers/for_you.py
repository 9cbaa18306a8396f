"""For You shapes: a ranked status's explanation (`vitascope.for_you` on each status of the feed,
and the `why` answer) and the viewer's steering preferences. The ranking (node.for_you) and the
preferences are loaded by the caller."""

from __future__ import annotations

from typing import Any

from node.models import ForYouPreference


def for_you_json(item, weights: dict[str, float]) -> dict[str, Any]:
    """A node.for_you.Candidate's score, sources and the features that moved it, largest effect first."""
    values = dict(item.values, diversity=item.diversity) if item.diversity else item.values
    reasons = [{"feature": f, "weight": weights[f], "value": round(v, 4)} for f, v in values.items() if v]
    reasons.sort(key=lambda r: -abs(r["weight"] * r["value"]))
    return {"score": round(item.score, 4), "sources": item.sources, "reasons": reasons}


def why_json(why) -> dict[str, Any]:
    """A node.for_you.Why: whether the status is a candidate at all, and its explanation."""
    return {"id": str(why.item.id), "candidate": why.candidate, "personalized": why.personalized,
            **for_you_json(why.item, why.weights)}


def for_you_preferences_json(pref: ForYouPreference | None, *, guardian_allows: bool, more_words: list[str],
                             less_words: list[str]) -> dict[str, Any]:
    """`personalized` is what the account chose; `guardian_allows_personalization` false means a
    guardian switched it off, whatever the account chose."""
    more, less, personalized = (pref.more, pref.less, pref.personalized) if pref else ("", "", True)
    return {"more": more, "less": less, "personalized": personalized,
            "guardian_allows_personalization": guardian_allows, "more_words": more_words, "less_words": less_words}
