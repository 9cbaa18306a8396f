"""Bundled JSON-LD contexts, the context we emit, and media types."""

from __future__ import annotations

import json
import logging
import socket

import pytest
from pyld import jsonld as pyld_jsonld

from federation.jsonld import (
    BUNDLED_CONTEXT_FILES,
    UnknownContextError,
    bundled_context,
    bundled_loader,
    compact,
    expand,
    safe_expand,
)
from federation.vocab import (
    AP_CONTEXT,
    AS_NS,
    DID_V1_URL,
    NS_DOCUMENT,
    SECURITY_NS,
    TOOT_NS,
    VITASCOPE_NS,
    VITASCOPE_TERMS,
    is_ap_media_type,
)
from provenance.consent import CameoPolicy

NOTE = {
    "@context": AP_CONTEXT,
    "id": "https://v.example/notes/1",
    "type": "Note",
    "attributedTo": "https://v.example/users/alice",
    "to": ["https://www.w3.org/ns/activitystreams#Public"],
    "content": "<p>a fox, 8 s</p>",
    "sensitive": False,
    "aiGenerated": True,
    "testModel": True,
    "model": "tiny-video",
    "remixable": True,
    "remixOf": "https://other.example/notes/9",
    "c2paManifest": "https://v.example/manifests/1.c2pa",
    "manifestId": "urn:c2pa:1234",
    "cameoGrant": ["https://v.example/grants/7"],
    "attachment": [
        {
            "type": "Document",
            "mediaType": "video/mp4",
            "url": "https://v.example/media/1.mp4",
            "blurhash": "LEHV6nWB2yk8",
            "focalPoint": [0.0, 0.5],
            "digestMultibase": "zQmYtUc4iTCbbfVSDNKvtQqrfyezPPnFvE33wFmutw9PBBk",
        }
    ],
    "tag": [{"type": "Hashtag", "name": "#fox", "href": "https://v.example/tags/fox"}],
    "proof": {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "verificationMethod": "https://v.example/users/alice#ed25519-key",
        "proofPurpose": "assertionMethod",
        "proofValue": "z3sXaxjKs4M3BRicwWA9peyNPJvJqxtGsDmpt1jjoHCjgeUf71TRFz56osPSfDErszyLp5Ks1EhYSgpDaNM977Rg2",
        "created": "2024-02-15T00:00:00Z",
    },
}

ACTOR = {
    "@context": AP_CONTEXT,
    "id": "https://v.example/users/alice",
    "type": "Person",
    "inbox": "https://v.example/users/alice/inbox",
    "manuallyApprovesFollowers": False,
    "discoverable": True,
    "indexable": True,
    "featured": "https://v.example/users/alice/featured",
    "publicKey": {
        "id": "https://v.example/users/alice#main-key",
        "owner": "https://v.example/users/alice",
        "publicKeyPem": "-----BEGIN PUBLIC KEY-----...",
    },
    "assertionMethod": [
        {
            "id": "https://v.example/users/alice#ed25519-key",
            "type": "Multikey",
            "controller": "https://v.example/users/alice",
            "publicKeyMultibase": "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        }
    ],
}


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to resolve or connect, or to use pyld's own loader, fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    previous = pyld_jsonld._default_document_loader
    pyld_jsonld.set_document_loader(refuse)
    yield
    pyld_jsonld.set_document_loader(previous)


def _values(node: dict, iri: str) -> list:
    return node.get(iri, [])


def test_bundled_contexts_are_context_documents():
    for url in BUNDLED_CONTEXT_FILES:
        document = bundled_context(url)
        assert isinstance(document["@context"], dict), url
        assert bundled_loader(url)["document"] == document


def test_loader_refuses_unbundled_context():
    with pytest.raises(UnknownContextError, match="not bundled"):
        bundled_loader("https://evil.example/context.jsonld")


def test_expand_our_note_offline(no_network):
    [node] = expand(NOTE)
    assert node["@type"] == [AS_NS + "Note"]
    assert _values(node, VITASCOPE_NS + "aiGenerated") == [{"@value": True}]
    assert _values(node, VITASCOPE_NS + "testModel") == [{"@value": True}]
    assert _values(node, VITASCOPE_NS + "model") == [{"@value": "tiny-video"}]
    assert _values(node, VITASCOPE_NS + "manifestId") == [{"@value": "urn:c2pa:1234"}]
    assert _values(node, VITASCOPE_NS + "remixOf") == [{"@id": "https://other.example/notes/9"}]
    assert _values(node, VITASCOPE_NS + "c2paManifest") == [{"@id": "https://v.example/manifests/1.c2pa"}]
    assert _values(node, VITASCOPE_NS + "cameoGrant") == [{"@id": "https://v.example/grants/7"}]
    assert _values(node, AS_NS + "sensitive") == [{"@value": False}]
    [attachment] = _values(node, AS_NS + "attachment")
    assert _values(attachment, TOOT_NS + "blurhash") == [{"@value": "LEHV6nWB2yk8"}]
    assert _values(attachment, TOOT_NS + "focalPoint") == [{"@list": [{"@value": 0.0}, {"@value": 0.5}]}]
    assert _values(attachment, SECURITY_NS + "digestMultibase")[0]["@value"].startswith("zQm")
    [tag] = _values(node, AS_NS + "tag")
    assert tag["@type"] == [AS_NS + "Hashtag"]
    [proof] = _values(node, SECURITY_NS + "proof")
    [proof_node] = proof["@graph"]
    assert proof_node["@type"] == [SECURITY_NS + "DataIntegrityProof"]
    assert _values(proof_node, SECURITY_NS + "proofPurpose") == [{"@id": SECURITY_NS + "assertionMethod"}]


def test_expand_our_actor_offline(no_network):
    [node] = expand(ACTOR)
    assert _values(node, AS_NS + "manuallyApprovesFollowers") == [{"@value": False}]
    assert _values(node, TOOT_NS + "discoverable") == [{"@value": True}]
    assert _values(node, TOOT_NS + "featured") == [{"@id": "https://v.example/users/alice/featured"}]
    [key] = _values(node, SECURITY_NS + "publicKey")
    assert _values(key, SECURITY_NS + "owner") == [{"@id": "https://v.example/users/alice"}]
    [multikey] = _values(node, SECURITY_NS + "assertionMethod")
    assert multikey["@type"] == [SECURITY_NS + "Multikey"]
    assert _values(multikey, SECURITY_NS + "controller") == [{"@id": "https://v.example/users/alice"}]


def test_our_terms_survive_a_compaction_round_trip(no_network):
    compacted = compact(expand(NOTE), AP_CONTEXT)
    plain = ("aiGenerated", "testModel", "model", "remixable", "remixOf", "c2paManifest", "manifestId", "sensitive")
    for term in plain:
        assert compacted[term] == NOTE[term], term
    assert compacted["cameoGrant"] == NOTE["cameoGrant"]
    assert compacted["attachment"]["blurhash"] == "LEHV6nWB2yk8"


def test_our_context_combines_with_fedify_style_did_context(no_network):
    """Peers add did/v1 (protected terms); our identical definitions must not clash."""
    document = dict(ACTOR, **{"@context": [*AP_CONTEXT[:-1], DID_V1_URL, AP_CONTEXT[-1]]})
    [node] = expand(document)
    assert _values(node, SECURITY_NS + "assertionMethod")


def test_expand_refuses_unbundled_context(no_network):
    document = {"@context": ["https://www.w3.org/ns/activitystreams", "https://evil.example/ctx"], "type": "Note"}
    with pytest.raises(pyld_jsonld.JsonLdError):
        expand(document)


def test_safe_expand_drops_unknown_contexts_with_warning(no_network, caplog):
    document = {
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            "https://pleroma.example/schemas/litepub-0.1.jsonld",
            {"@language": "und"},
        ],
        "id": "https://pleroma.example/objects/1",
        "type": "Note",
        "content": "hello",
        "directMessage": False,
    }
    with caplog.at_level(logging.WARNING, logger="federation.jsonld"):
        [node] = safe_expand(document)
    assert node["@type"] == [AS_NS + "Note"]
    assert _values(node, AS_NS + "content") == [{"@value": "hello", "@language": "und"}]
    assert not any(key.startswith("http://litepub") for key in node)
    assert "pleroma.example/schemas/litepub-0.1.jsonld" in caplog.text
    # The stub is per call: a strict expand still refuses the same URL afterwards.
    with pytest.raises(pyld_jsonld.JsonLdError):
        expand(document)


def test_common_spellings_of_bundled_contexts(no_network):
    document = {"@context": "http://www.w3.org/ns/activitystreams", "type": "Like", "actor": "https://a.example/u"}
    [node] = expand(document)
    assert node["@type"] == [AS_NS + "Like"]


def test_ns_document_describes_every_term(no_network):
    [node] = expand(NS_DOCUMENT)
    described = {entry["@id"] for entry in node["@graph"]}
    ours = {VITASCOPE_NS + term for term in VITASCOPE_TERMS if term != "vitascope"}
    assert described == ours
    for entry in node["@graph"]:
        assert entry["http://www.w3.org/2000/01/rdf-schema#comment"][0]["@value"]
    json.dumps(NS_DOCUMENT)  # servable as is


def test_ns_document_works_as_a_remote_context(no_network):
    """Someone may put our /ns URL in @context; its @context defines our terms."""
    [node] = pyld_jsonld.expand(
        {"@context": "https://v.example/ns", "aiGenerated": True, "remixOf": "https://x.example/1"},
        {"documentLoader": lambda url, options=None: {"document": NS_DOCUMENT, "documentUrl": url, "contextUrl": None}},
    )
    assert node[VITASCOPE_NS + "aiGenerated"] == [{"@value": True}]
    assert node[VITASCOPE_NS + "remixOf"] == [{"@id": "https://x.example/1"}]


@pytest.mark.parametrize(
    "value,expected",
    [
        ("application/activity+json", True),
        ("application/activity+json; charset=utf-8", True),
        ('application/ld+json; profile="https://www.w3.org/ns/activitystreams"', True),
        ("application/ld+json", True),
        ("text/html, application/activity+json;q=0.9", True),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),
        ('application/ld+json; profile="https://www.w3.org/ns/did/v1"', False),
        ("application/activity+json;q=0", False),
        ("application/json", False),
        ("", False),
        (None, False),
    ],
)
def test_is_ap_media_type(value, expected):
    assert is_ap_media_type(value) is expected


GTS_NS = "https://gotosocial.org/ns#"
SEC_MULTIBASE = SECURITY_NS + "multibase"
GRANT = {
    "@context": AP_CONTEXT,
    "id": "https://a.example/cameo_grants/1",
    "type": "CameoAuthorization",
    "attributedTo": "https://a.example/users/alice",
    "interactionTarget": "https://a.example/cameos/alice-1",
    "interactingObject": "https://b.example/notes/42",
    "instrument": "https://b.example/users/bob",
    "published": "2026-12-06T12:00:00Z",
    "endTime": "2026-12-07T12:00:00Z",
    "likenessDigest": "zQmYtUc4iTCbbfVSDNKvtQqrfyezPPnFvE33wFmutw9PBBk",
    "restrictionsDigest": "zQmYtUc4iTCbbfVSDNKvtQqrfyezPPnFvE33wFmutw9PBBk",
}
CAMEO = {
    "@context": AP_CONTEXT,
    "id": "https://a.example/cameos/alice-1",
    "type": "Cameo",
    "attributedTo": "https://a.example/users/alice",
    "cameoKind": "person",
    "name": "Alice",
    "preferredUsername": "alice",
    "likenessDigest": "zQmYtUc4iTCbbfVSDNKvtQqrfyezPPnFvE33wFmutw9PBBk",
    "interactionPolicy": {"canCameo": {"automaticApproval": ["https://a.example/users/alice/followers"],
                                       "manualApproval": [AS_NS + "Public"]}},
}


def test_expand_a_cameo_grant_offline(no_network):
    [node] = expand(GRANT)
    assert node["@type"] == [VITASCOPE_NS + "CameoAuthorization"]
    assert _values(node, GTS_NS + "interactionTarget") == [{"@id": "https://a.example/cameos/alice-1"}]
    assert _values(node, GTS_NS + "interactingObject") == [{"@id": "https://b.example/notes/42"}]
    assert _values(node, AS_NS + "instrument") == [{"@id": "https://b.example/users/bob"}]
    assert _values(node, VITASCOPE_NS + "likenessDigest") == [{"@type": SEC_MULTIBASE, "@value": GRANT["likenessDigest"]}]
    assert _values(node, VITASCOPE_NS + "restrictionsDigest")[0]["@type"] == SEC_MULTIBASE


def test_expand_a_cameo_and_its_policy_offline(no_network):
    [node] = expand(CAMEO)
    assert node["@type"] == [VITASCOPE_NS + "Cameo"]
    assert _values(node, VITASCOPE_NS + "cameoKind") == [{"@value": "person"}]
    [policy] = _values(node, GTS_NS + "interactionPolicy")
    [can] = _values(policy, VITASCOPE_NS + "canCameo")
    assert _values(can, GTS_NS + "automaticApproval") == [{"@id": "https://a.example/users/alice/followers"}]
    assert _values(can, GTS_NS + "manualApproval") == [{"@id": AS_NS + "Public"}]


def test_cameo_terms_survive_a_compaction_round_trip(no_network):
    for document in (GRANT, CAMEO, dict(ACTOR, cameos="https://v.example/users/alice/cameos"),
                     {"@context": AP_CONTEXT, "id": "https://b.example/cameo_requests/1", "type": "CameoRequest",
                      "actor": "https://b.example/users/bob", "object": "https://a.example/cameos/alice-1",
                      "instrument": "https://b.example/notes/42", "to": "https://a.example/users/alice"}):
        compacted = compact(expand(document), AP_CONTEXT)
        assert expand(compacted) == expand(document), document["type"]
        if document is not CAMEO:  # one-item policy lists compact to plain values, Public to as:Public
            assert compacted == document, document["type"]
    assert (CameoPolicy.from_json(compact(expand(CAMEO), AP_CONTEXT)["interactionPolicy"])
            == CameoPolicy.from_json(CAMEO["interactionPolicy"]))


def test_mastodon_reads_the_interaction_terms_the_same_way(no_network):
    """The stamp context Mastodon and GoToSocial emit gives our interaction terms the same IRIs."""
    mastodon_context = ["https://www.w3.org/ns/activitystreams", {
        "gts": GTS_NS,
        "interactingObject": {"@id": "gts:interactingObject", "@type": "@id"},
        "interactionTarget": {"@id": "gts:interactionTarget", "@type": "@id"}}]
    theirs = dict(GRANT, **{"@context": mastodon_context})
    del theirs["likenessDigest"], theirs["restrictionsDigest"]
    [ours], [read] = expand(GRANT), expand(theirs)
    for iri in (GTS_NS + "interactingObject", GTS_NS + "interactionTarget"):
        assert ours[iri] == read[iri]
