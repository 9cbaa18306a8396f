"""The ActivityStreams vocabulary we emit: @context, our own terms, media types.

Peers mostly read our JSON as plain JSON (Mastodon, Fedify), but JSON-LD
processors (bovine, pyld users) expand it, so every key we emit must be
defined by the context below or it silently disappears for them.
"""

from __future__ import annotations

from typing import Any

AS_CONTEXT_URL = "https://www.w3.org/ns/activitystreams"
SECURITY_V1_URL = "https://w3id.org/security/v1"
DATA_INTEGRITY_V1_URL = "https://w3id.org/security/data-integrity/v1"
DATA_INTEGRITY_V2_URL = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_V1_URL = "https://w3id.org/security/multikey/v1"
DID_V1_URL = "https://www.w3.org/ns/did/v1"

AS_NS = "https://www.w3.org/ns/activitystreams#"
AS_PUBLIC = AS_NS + "Public"
SECURITY_NS = "https://w3id.org/security#"
TOOT_NS = "http://joinmastodon.org/ns#"
GTS_NS = "https://gotosocial.org/ns#"
VITASCOPE_NS = "https://vitascope.social/ns#"
VITASCOPE_NS_DOCUMENT_ID = "https://vitascope.social/ns"

AP_MEDIA_TYPE = "application/activity+json"
LD_MEDIA_TYPE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
AP_ACCEPT = f"{AP_MEDIA_TYPE}, {LD_MEDIA_TYPE}"

_RESOURCE = "http://www.w3.org/2000/01/rdf-schema#Resource"

# Our own terms: term -> (context definition, rdfs:range, rdfs:comment for NS_DOCUMENT).
# Booleans and strings are plain terms (no @type): a typed term would not
# compact back from a native JSON value and would come out as "vitascope:x".
_VITASCOPE_TERMS: dict[str, tuple[Any, str, str]] = {
    "aiGenerated": (
        "vitascope:aiGenerated",
        "http://www.w3.org/2001/XMLSchema#boolean",
        "True when the media of this object was produced by a generative model.",
    ),
    "c2paManifest": (
        {"@id": "vitascope:c2paManifest", "@type": "@id"},
        _RESOURCE,
        "URL of the C2PA manifest (or the signed media file carrying it) that proves this object's provenance.",
    ),
    "c2paTrustAnchors": (
        {"@id": "vitascope:c2paTrustAnchors", "@type": "@id"},
        _RESOURCE,
        "On a node's instance actor: URL of the PEM bundle of every C2PA certificate authority the node signs media with.",
    ),
    "manifestId": (
        "vitascope:manifestId",
        "http://www.w3.org/2001/XMLSchema#string",
        "Identifier (URN) of the active C2PA manifest of the media.",
    ),
    "remixOf": (
        {"@id": "vitascope:remixOf", "@type": "@id"},
        _RESOURCE,
        "The object (usually a Note with a video) this one was remixed from.",
    ),
    "remixable": (
        "vitascope:remixable",
        "http://www.w3.org/2001/XMLSchema#boolean",
        "Whether the author allows others to remix this object.",
    ),
    "testModel": (
        "vitascope:testModel",
        "http://www.w3.org/2001/XMLSchema#boolean",
        "True when the media came from a tiny test model rather than a production one.",
    ),
    "model": (
        "vitascope:model",
        "http://www.w3.org/2001/XMLSchema#string",
        "Name of the generative model that produced the media.",
    ),
    "cameoGrant": (
        {"@id": "vitascope:cameoGrant", "@type": "@id", "@container": "@set"},
        _RESOURCE,
        "Consent grants (CameoAuthorization, signed by the people depicted) that allow their likeness in this object.",
    ),
    "cameos": (
        {"@id": "vitascope:cameos", "@type": "@id"},
        _RESOURCE,
        "On an actor: the collection of the Cameo objects (verified likenesses) it owns.",
    ),
    "canCameo": (
        {"@id": "vitascope:canCameo", "@type": "@id"},
        _RESOURCE,
        "In an interactionPolicy: who may put this cameo (or this actor's cameos) in a generated video, "
        "with automaticApproval and manualApproval as in GoToSocial's interaction policies (FEP-044f).",
    ),
    "cameoKind": (
        "vitascope:cameoKind",
        "http://www.w3.org/2001/XMLSchema#string",
        "Kind of a Cameo: 'person' (a verified real person) or 'character' (a pet, object or invented persona).",
    ),
    "likenessDigest": (
        {"@id": "vitascope:likenessDigest", "@type": SECURITY_NS + "multibase"},
        SECURITY_NS + "multibase",
        "digestMultibase (sha2-256) of a Cameo's private reference pack; a grant pins the pack it allows.",
    ),
    "restrictionsDigest": (
        {"@id": "vitascope:restrictionsDigest", "@type": SECURITY_NS + "multibase"},
        SECURITY_NS + "multibase",
        "digestMultibase (sha2-256) of the owner's written restrictions in force when a grant was made.",
    ),
    "useState": (
        "vitascope:useState",
        "http://www.w3.org/2001/XMLSchema#string",
        "On a renderer's Add{object: post, target: CameoAuthorization}: what became of the use "
        "('rendered', 'failed' or 'posted'), so the cameo's owner sees every video made of them.",
    ),
}

# Our classes: term -> rdfs:comment.
_VITASCOPE_CLASSES: dict[str, str] = {
    "Cameo": "A verified likeness (person or character) hosted and signed by its owner; its references never "
             "leave the owner's node.",
    "CameoRequest": "Asks a cameo's owner to allow one use (object: the Cameo, instrument: the post it is for), "
                    "sent before rendering; answered with Accept{result: CameoAuthorization} or Reject.",
    "CameoAuthorization": "A consent grant (stamp), hosted by the owner's node and signed by the owner's key: "
                          "interactionTarget (the Cameo) may appear in interactingObject (one post) by instrument "
                          "(the renderer). Revoked by a Delete of it.",
}

# GoToSocial's interaction-control terms, spelled as GoToSocial and Mastodon spell them (FEP-044f).
GTS_TERMS: dict[str, Any] = {
    "gts": GTS_NS,
    "interactionPolicy": {"@id": "gts:interactionPolicy", "@type": "@id"},
    "automaticApproval": {"@id": "gts:automaticApproval", "@type": "@id"},
    "manualApproval": {"@id": "gts:manualApproval", "@type": "@id"},
    "interactingObject": {"@id": "gts:interactingObject", "@type": "@id"},
    "interactionTarget": {"@id": "gts:interactionTarget", "@type": "@id"},
}

VITASCOPE_TERMS: dict[str, Any] = (
    {"vitascope": VITASCOPE_NS}
    | {term: definition for term, (definition, _, _) in _VITASCOPE_TERMS.items()}
    | {term: f"vitascope:{term}" for term in _VITASCOPE_CLASSES}
)

# The Mastodon extensions we use, spelled exactly as Mastodon spells them.
MASTODON_TERMS: dict[str, Any] = {
    "toot": TOOT_NS,
    "sensitive": "as:sensitive",
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "Hashtag": "as:Hashtag",
    "featured": {"@id": "toot:featured", "@type": "@id"},
    "blurhash": "toot:blurhash",
    "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "movedTo": {"@id": "as:movedTo", "@type": "@id"},  # alsoKnownAs is in the ActivityStreams context
    "suspended": "toot:suspended",
}

# Identical to the protected definitions in data-integrity/v1 and did/v1, so
# documents mixing those contexts with ours still expand (FEP-1311, FEP-521a).
SECURITY_TERMS: dict[str, Any] = {
    "digestMultibase": {"@id": SECURITY_NS + "digestMultibase", "@type": SECURITY_NS + "multibase"},
    "assertionMethod": {"@id": SECURITY_NS + "assertionMethod", "@type": "@id", "@container": "@set"},
}

AP_CONTEXT: list[Any] = [
    AS_CONTEXT_URL,
    SECURITY_V1_URL,  # publicKey / publicKeyPem, which every peer reads
    DATA_INTEGRITY_V1_URL,  # proof, DataIntegrityProof (FEP-8b32)
    MULTIKEY_V1_URL,  # Multikey, publicKeyMultibase (FEP-521a)
    MASTODON_TERMS | SECURITY_TERMS | GTS_TERMS | VITASCOPE_TERMS,
]

NS_DOCUMENT: dict[str, Any] = {
    "@context": [
        VITASCOPE_TERMS,
        {
            "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
            "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
        },
    ],
    "@id": VITASCOPE_NS_DOCUMENT_ID,
    "rdfs:label": "Vitascope vocabulary",
    "rdfs:comment": (
        "Terms Vitascope adds to ActivityStreams objects for AI-generated short video: "
        "provenance (C2PA), remix lineage and consent (cameos). Use them through the @context "
        "array Vitascope emits; each term below is a property in the namespace "
        f"{VITASCOPE_NS}."
    ),
    "@graph": [
        {
            "@id": f"vitascope:{term}",
            "@type": "rdf:Property",
            "rdfs:label": term,
            "rdfs:comment": comment,
            "rdfs:range": {"@id": value_range},
        }
        for term, (_, value_range, comment) in _VITASCOPE_TERMS.items()
    ] + [
        {"@id": f"vitascope:{term}", "@type": "rdfs:Class", "rdfs:label": term, "rdfs:comment": comment}
        for term, comment in _VITASCOPE_CLASSES.items()
    ],
}


def _media_ranges(value: str) -> list[tuple[str, dict[str, str]]]:
    """Parse a Content-Type or Accept value into (type, params) pairs, q=0 dropped."""
    ranges = []
    for item in value.split(","):
        pieces = item.split(";")
        media_type = pieces[0].strip().lower()
        if not media_type:
            continue
        params: dict[str, str] = {}
        for piece in pieces[1:]:
            name, _, param = piece.partition("=")
            params[name.strip().lower()] = param.strip().strip('"')
        try:
            if float(params.get("q", "1")) <= 0:
                continue
        except ValueError:
            continue
        ranges.append((media_type, params))
    return ranges


def is_ap_media_type(accept_or_content_type: str | None) -> bool:
    """True if a Content-Type or Accept header asks for / carries ActivityStreams JSON.

    ``application/ld+json`` counts unless it names a profile other than ActivityStreams.
    """
    for media_type, params in _media_ranges(accept_or_content_type or ""):
        if media_type == AP_MEDIA_TYPE:
            return True
        if media_type == "application/ld+json":
            profile = params.get("profile")
            if profile is None or AS_CONTEXT_URL in profile.split():
                return True
    return False
