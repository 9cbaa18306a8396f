"""Cameo consent on the wire: the documents and activities federation.documents builds and reads."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from federation.documents import (
    CONTEXT,
    ActorInfo,
    DocumentError,
    NoteInfo,
    accept_cameo_request,
    actor_key,
    cameo,
    cameo_authorization,
    cameo_request,
    note,
    parse_actor,
    parse_cameo,
    parse_cameo_answer,
    parse_cameo_request,
    parse_note,
    person,
    reject_cameo_request,
    revoke_cameo_grant,
)
from federation.vocab import AS_PUBLIC
from provenance.consent import (
    Cameo,
    CameoAuthorization,
    CameoPolicy,
    CameoRequest,
    claim_entry,
    read_claim_grants,
    verify_grant,
)
from provenance.digests import digest_multibase
from provenance.keys import ed25519_multikey, generate_ed25519_private_pem, generate_rsa_private_pem, public_pem

ALICE = "https://a.example/users/alice"
BOB = "https://b.example/users/bob"
POST = "https://b.example/notes/42"
KEY_ID = f"{ALICE}#ed25519-key"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def alice_doc():
    """Alice's actor document as person() serves it, with her cameos and policy."""
    ed_pem = generate_ed25519_private_pem()
    info = ActorInfo(
        id=ALICE, username="alice", name="Alice", summary_html="", url="https://a.example/@alice",
        inbox=f"{ALICE}/inbox", outbox=f"{ALICE}/outbox", followers=f"{ALICE}/followers",
        following=f"{ALICE}/following", featured=f"{ALICE}/featured", shared_inbox="https://a.example/inbox",
        public_key_id=f"{ALICE}#main-key", public_key_pem=public_pem(generate_rsa_private_pem()),
        ed25519_key_id=KEY_ID, ed25519_multikey=ed25519_multikey(ed_pem), published=NOW,
        cameos=f"{ALICE}/cameos", cameo_policy=CameoPolicy(manual_approval=(AS_PUBLIC,)))
    return person(info), ed_pem


def _grant(**fields) -> CameoAuthorization:
    values = dict(id="https://a.example/cameo_grants/1", owner=ALICE, target="https://a.example/cameos/alice-1",
                  post=POST, renderer=BOB, published=NOW)
    return CameoAuthorization(**{**values, **fields})


def test_actor_publishes_its_cameos_and_policy(alice_doc):
    doc, _ = alice_doc
    assert doc["cameos"] == f"{ALICE}/cameos"
    assert doc["interactionPolicy"] == {"canCameo": {"automaticApproval": [], "manualApproval": [AS_PUBLIC]}}
    remote = parse_actor(doc)
    assert remote.cameos == f"{ALICE}/cameos"
    assert actor_key(remote).controller == ALICE and actor_key(remote).id == KEY_ID


def test_the_full_consent_exchange_verifies_at_each_step(alice_doc):
    actor, ed_pem = alice_doc
    resolve = {KEY_ID: actor_key(parse_actor(actor))}.get
    the_cameo = cameo(Cameo(id="https://a.example/cameos/alice-1", owner=ALICE, kind="person", name="Alice",
                            handle="alice", likeness_digest=digest_multibase(bytes(32))), ed_pem, KEY_ID)
    assert the_cameo["@context"] == CONTEXT and parse_cameo(the_cameo).handle == "alice"

    request = cameo_request(CameoRequest(id="https://b.example/cameo_requests/1", actor=BOB, cameo=the_cameo["id"],
                                         owner=ALICE, instrument=POST))
    assert parse_cameo_request(request).instrument == POST

    stamp = cameo_authorization(_grant(likeness_digest=digest_multibase(bytes(32))), ed_pem, KEY_ID)
    accept = accept_cameo_request("https://a.example/accepts/1", ALICE, request["id"], BOB, stamp)
    assert (accept["type"], accept["object"], accept["to"]) == ("Accept", request["id"], [BOB])
    answer = parse_cameo_answer(accept)
    assert answer.accepted and answer.request_id == request["id"] and answer.grant == stamp
    # The embedded stamp keeps its own @context, so its proof still verifies after relay.
    verdict = verify_grant(answer.grant, resolve, post_id=POST, author=BOB, cameo_id=the_cameo["id"],
                           cameo=the_cameo, manifest_copy=stamp, now=NOW)
    assert verdict.ok, verdict.describe()
    [entry] = read_claim_grants([claim_entry(stamp, resolve(KEY_ID))], renderer_host="b.example", now=NOW)
    assert entry.verdict.ok

    reject = reject_cameo_request("https://a.example/rejects/1", ALICE, request["id"], BOB)
    assert parse_cameo_answer(reject) == type(answer)(request["id"], False, None)

    delete = revoke_cameo_grant(stamp["id"], ALICE, BOB)
    assert delete["id"] == stamp["id"] + "#delete" and delete["object"] == stamp["id"]
    assert delete["to"] == [AS_PUBLIC] and delete["cc"] == [BOB] and delete["type"] == "Delete"


def test_answer_by_iri_is_accepted_for_dereferencing():
    doc = {"type": "Accept", "object": "https://b.example/cameo_requests/1", "result": "https://a.example/g/1"}
    assert parse_cameo_answer(doc).grant == "https://a.example/g/1"


@pytest.mark.parametrize("doc", [
    {"type": "Accept", "object": "https://b.example/cameo_requests/1"},
    {"type": "Accept", "object": "https://b.example/cameo_requests/1", "result": {"type": "QuoteAuthorization"}},
    {"type": "Undo", "object": "https://b.example/cameo_requests/1"},
    {"type": "Reject"},
])
def test_bad_answers_are_document_errors(doc):
    with pytest.raises(DocumentError):
        parse_cameo_answer(doc)


def test_bad_requests_and_cameos_are_document_errors():
    with pytest.raises(DocumentError, match="bad CameoRequest"):
        parse_cameo_request({"type": "CameoRequest", "id": "https://b.example/r/1"})
    with pytest.raises(DocumentError, match="bad Cameo"):
        parse_cameo({"type": "Cameo"})


def test_note_names_its_grants_and_mastodon_sees_a_mention():
    info = NoteInfo(id=POST, url=POST, attributed_to=BOB, content_html="<p>@alice surfing</p>", published=NOW,
                    to=[AS_PUBLIC], cc=[], mentions=[(ALICE, "@alice@a.example")],
                    cameo_grants=["https://a.example/cameo_grants/1"])
    doc = note(info)
    assert doc["cameoGrant"] == ["https://a.example/cameo_grants/1"]
    assert {"type": "Mention", "href": ALICE, "name": "@alice@a.example"} in doc["tag"]
    assert parse_note(doc).cameo_grants == ("https://a.example/cameo_grants/1",)
    assert parse_note(dict(doc, cameoGrant="https://a.example/cameo_grants/1")).cameo_grants == (
        "https://a.example/cameo_grants/1",)
    assert "cameoGrant" not in note(NoteInfo(id=POST, url=POST, attributed_to=BOB, content_html="", published=NOW,
                                             to=[], cc=[]))


def test_expiry_travels_as_end_time(alice_doc):
    _, ed_pem = alice_doc
    stamp = cameo_authorization(_grant(expires=NOW + timedelta(hours=1)), ed_pem, KEY_ID)
    assert stamp["endTime"] == "2026-12-06T13:00:00Z"
