"""Cameo consent documents and the grant check every ingesting node runs (provenance.consent)."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import pytest

from provenance.consent import (
    BAD_PROOF,
    CAMEO_OF_OTHER_OWNER,
    COPIES_DIFFER,
    EXPIRED,
    HOST_MISMATCH,
    MALFORMED,
    NOT_IN_MANIFEST,
    NOT_ON_NOTE,
    NOT_YET_VALID,
    OTHER_CAMEO,
    OTHER_POST,
    OTHER_RENDERER,
    UNKNOWN_KEY,
    WRONG_KEY,
    Cameo,
    CameoAuthorization,
    CameoPolicy,
    CameoRequest,
    ConsentError,
    ResolvedKey,
    claim_entry,
    read_claim_grants,
    restrictions_digest,
    sign,
    verify_grant,
    verify_video_grants,
)
from provenance.proofs import verify_proof
from tests.support.consent import CONTEXT, Owner

POST = "https://b.example/notes/42"
BOB = "https://b.example/users/bob"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def alice() -> Owner:
    return Owner("a.example")


@pytest.fixture(scope="module")
def mallory() -> Owner:
    return Owner("m.example", "mallory")


def _check(alice: Owner, grant: dict, resolver=None, **kwargs):
    options = dict(post_id=POST, author=BOB, cameo_id=alice.cameo.id, manifest_copy=grant, now=NOW)
    options.update(kwargs)
    return verify_grant(grant, resolver or alice.resolver(), **options)


def _grant(alice: Owner, **fields) -> dict:
    return alice.grant(POST, BOB, **{"published": NOW - timedelta(minutes=1), **fields})


# ----- documents ---------------------------------------------------------------------------


def test_cameo_round_trips_and_carries_its_owners_proof(alice):
    doc = alice.cameo_json
    assert doc["@context"] == CONTEXT and doc["type"] == "Cameo" and doc["attributedTo"] == alice.actor
    assert doc["interactionPolicy"] == {"canCameo": {"automaticApproval": [f"{alice.actor}/followers"],
                                                     "manualApproval": []}}
    assert doc["cameoKind"] == "person" and doc["preferredUsername"] == "alice"
    assert Cameo.from_json(doc) == alice.cameo
    verify_proof(doc, alice.key.multikey)


def test_grant_round_trips_with_every_field(alice):
    grant = CameoAuthorization(
        id="https://a.example/cameo_grants/9", owner=alice.actor, target=alice.cameo.id, post=POST, renderer=BOB,
        published=NOW, expires=NOW + timedelta(days=1), likeness_digest=alice.cameo.likeness_digest,
        restrictions_digest=restrictions_digest("never in political content"))
    doc = grant.to_json()
    assert doc == {
        "id": "https://a.example/cameo_grants/9", "type": "CameoAuthorization", "attributedTo": alice.actor,
        "interactionTarget": alice.cameo.id, "interactingObject": POST, "instrument": BOB,
        "published": "2026-12-06T12:00:00Z", "endTime": "2026-12-07T12:00:00Z",
        "likenessDigest": alice.cameo.likeness_digest, "restrictionsDigest": doc["restrictionsDigest"],
    }
    assert CameoAuthorization.from_json(doc) == grant
    assert CameoAuthorization.from_json(sign(doc, alice.private_pem, alice.key.id)) == grant


def test_request_round_trips(alice):
    request = CameoRequest(id="https://b.example/cameo_requests/1", actor=BOB, cameo=alice.cameo.id,
                           owner=alice.actor, instrument=POST, prompt="@alice surfing at dusk")
    doc = request.to_json(CONTEXT)
    assert (doc["type"], doc["object"], doc["instrument"], doc["to"]) == ("CameoRequest", alice.cameo.id, POST,
                                                                          [alice.actor])
    assert CameoRequest.from_json(doc) == request


def test_policy_defaults_to_nobody():
    assert CameoPolicy.from_json(None) == CameoPolicy() == CameoPolicy.from_json({"canQuote": {}})


@pytest.mark.parametrize("change,message", [
    ({"type": "QuoteAuthorization"}, "type must be 'CameoAuthorization'"),
    ({"id": "ftp://a.example/g"}, "id must be an http"),
    ({"attributedTo": None}, "attributedTo must be"),
    ({"interactingObject": ["https://b.example/notes/42"]}, "interactingObject must be"),
    ({"interactingObject": "https://c.example/notes/42"}, "not on the host of"),
    ({"published": "yesterday"}, "published must be an xsd:dateTime"),
    ({"published": "2026-12-06T12:00:00"}, "with a time zone"),
    ({"endTime": 5}, "endTime must be"),
    ({"likenessDigest": "zabc"}, "likenessDigest must be a sha2-256"),
])
def test_grant_parsing_is_strict(alice, change, message):
    doc = dict(_grant(alice), **change)
    with pytest.raises(ConsentError, match=message):
        CameoAuthorization.from_json(doc)


@pytest.mark.parametrize("change,message", [
    ({"cameoKind": "celebrity"}, "cameoKind must be one of person, character"),
    ({"preferredUsername": "a b"}, "preferredUsername"),
    ({"name": ""}, "name must be a non-empty string"),
    ({"id": "https://elsewhere.example/cameos/1"}, "not on the host of"),
    ({"interactionPolicy": {"canCameo": []}}, "canCameo must be an object"),
    ({"interactionPolicy": {"canCameo": {"automaticApproval": ["not a url"]}}}, "automaticApproval must be"),
])
def test_cameo_parsing_is_strict(alice, change, message):
    with pytest.raises(ConsentError, match=message):
        Cameo.from_json(dict(alice.cameo_json, **change))


def test_not_an_object_is_refused():
    with pytest.raises(ConsentError, match="must be a JSON object"):
        CameoAuthorization.from_json(["x"])


# ----- the verdict, one reason at a time --------------------------------------------------------


def test_a_good_grant_verifies(alice):
    verdict = _check(alice, _grant(alice), cameo=alice.cameo_json)
    assert verdict.ok and verdict.reason is None and verdict.describe() == "valid", verdict.describe()
    assert verdict.grant_id == "https://a.example/cameo_grants/1" and verdict.grant.post == POST


def test_malformed_grant(alice):
    verdict = _check(alice, {"type": "CameoAuthorization", "id": "https://a.example/g/1"})
    assert (verdict.ok, verdict.reason, verdict.grant_id) == (False, MALFORMED, "https://a.example/g/1")
    assert _check(alice, "not json at all").reason == MALFORMED


def test_forged_stamp_altered_after_signing(alice):
    grant = _grant(alice)
    grant["instrument"] = "https://b.example/users/eve"
    verdict = _check(alice, grant, author="https://b.example/users/eve")
    assert verdict.codes == [BAD_PROOF] and "signature does not match" in verdict.describe()


def test_stamp_without_proof(alice):
    grant = _grant(alice)
    del grant["proof"]
    assert _check(alice, grant).codes == [BAD_PROOF]


def test_stamp_for_another_post(alice):
    grant = alice.grant("https://b.example/notes/other", BOB, published=NOW)
    assert _check(alice, grant).codes == [OTHER_POST]


def test_stamp_for_another_renderer(alice):
    assert _check(alice, _grant(alice), author="https://b.example/users/eve").codes == [OTHER_RENDERER]


def test_expired_stamp(alice):
    verdict = _check(alice, _grant(alice, expires=NOW - timedelta(seconds=1)))
    assert verdict.codes == [EXPIRED]
    assert _check(alice, _grant(alice, expires=NOW + timedelta(seconds=1))).ok


def test_stamp_dated_in_the_future(alice):
    assert _check(alice, _grant(alice, published=NOW + timedelta(hours=1))).codes == [NOT_YET_VALID]


def test_stamp_signed_by_another_key_of_the_same_host(alice):
    """The grant names alice, the proof is by another account on her node: not her consent."""
    carol = Owner("a.example", "carol")
    grant = sign(CameoAuthorization.from_json(_grant(alice)).to_json(CONTEXT), carol.private_pem, carol.key.id)
    assert _check(alice, grant, alice.resolver(carol)).codes == [WRONG_KEY]


def test_stamp_whose_key_id_resolves_to_someone_elses_key(alice, mallory):
    """A resolver answering a key id with a different key (id or controller) is not the owner's."""
    grant = _grant(alice)
    lying = {alice.key.id: ResolvedKey(alice.key.id, mallory.actor, mallory.key.multikey)}.get
    assert _check(alice, grant, lying).codes == [WRONG_KEY]


def test_stamp_signed_with_a_key_from_another_host(alice, mallory):
    grant = sign(CameoAuthorization.from_json(_grant(alice)).to_json(CONTEXT), mallory.private_pem, mallory.key.id)
    verdict = _check(alice, grant, alice.resolver(mallory))
    assert verdict.codes == [WRONG_KEY] and "not on the owner's node" in verdict.describe()


def test_stamp_signed_by_the_owners_old_key(alice):
    """Same key id, different key material (rotated, or a forger's): the proof fails."""
    impostor = Owner("a.example")
    grant = impostor.grant(POST, BOB, published=NOW)
    assert _check(alice, grant).codes == [BAD_PROOF]


def test_unknown_key(alice):
    assert _check(alice, _grant(alice), lambda key_id: None).codes == [UNKNOWN_KEY]

    def broken(key_id):
        raise ConnectionError("no route")

    verdict = _check(alice, _grant(alice), broken)
    assert verdict.codes == [UNKNOWN_KEY] and "ConnectionError" in verdict.describe()


def test_stamp_not_hosted_by_the_owners_node(alice, mallory):
    """mallory's node serves a stamp naming alice as owner: the host must be alice's."""
    grant = sign(CameoAuthorization.from_json(_grant(alice, id="https://m.example/cameo_grants/1"))
                 .to_json(CONTEXT), alice.private_pem, alice.key.id)
    assert _check(alice, grant).codes == [HOST_MISMATCH]


def test_stamp_for_a_cameo_of_another_owner(alice, mallory):
    """alice signs a grant for mallory's cameo: she cannot consent for someone else."""
    grant = _grant(alice, target=mallory.cameo.id)
    assert _check(alice, grant, cameo_id=mallory.cameo.id).codes == [CAMEO_OF_OTHER_OWNER]
    # The same on one host: the cameo document says whose it is.
    carol = Owner("a.example", "carol")
    grant = _grant(alice, target=carol.cameo.id)
    verdict = _check(alice, grant, alice.resolver(carol), cameo_id=carol.cameo.id, cameo=carol.cameo_json)
    assert verdict.codes == [CAMEO_OF_OTHER_OWNER]


def test_stamp_for_another_cameo_than_the_one_shown(alice):
    assert _check(alice, _grant(alice), cameo_id="https://a.example/cameos/alice-2").codes == [OTHER_CAMEO]


def test_stamp_pinning_another_likeness(alice):
    grant = _grant(alice, likeness_digest=restrictions_digest("another reference pack"))
    assert _check(alice, grant, cameo=alice.cameo_json).codes == [OTHER_CAMEO]


def test_unsigned_or_altered_cameo_document(alice):
    altered = dict(alice.cameo_json, name="Someone Else")
    verdict = _check(alice, _grant(alice), cameo=altered)
    assert verdict.codes == [BAD_PROOF] and verdict.describe().startswith("bad_proof: the cameo document")


def test_note_copy_and_manifest_copy_differ(alice):
    """Both are genuine grants of alice's, but not the same one: the manifest's has no expiry."""
    note_copy, manifest_copy = _grant(alice, expires=NOW + timedelta(days=1)), _grant(alice)
    assert _check(alice, note_copy, manifest_copy=manifest_copy).codes == [COPIES_DIFFER]
    reordered = dict(reversed(list(note_copy.items())))
    assert _check(alice, note_copy, manifest_copy=reordered).ok  # key order is not a difference


def test_every_failure_is_reported(alice):
    grant = alice.grant("https://b.example/notes/other", BOB, published=NOW - timedelta(days=2),
                        expires=NOW - timedelta(days=1))
    assert _check(alice, grant, cameo_id="https://a.example/cameos/x").codes == [OTHER_POST, OTHER_CAMEO, EXPIRED]


def test_input_is_not_modified(alice):
    grant = _grant(alice)
    before = copy.deepcopy(grant)
    _check(alice, grant, cameo=alice.cameo_json)
    assert grant == before


def test_recheck_by_never_passes_expiry(alice):
    open_ended = _check(alice, _grant(alice))
    assert open_ended.recheck_by(NOW, timedelta(minutes=10)) == NOW + timedelta(minutes=10)
    short = _check(alice, _grant(alice, expires=NOW + timedelta(minutes=3)))
    assert short.recheck_by(NOW) == NOW + timedelta(minutes=3)


# ----- a whole video -----------------------------------------------------------------------------


def test_video_grants_match_note_and_manifest_by_id(alice, mallory):
    first = _grant(alice)
    second = mallory.grant(POST, BOB, number=2, published=NOW)
    resolver = alice.resolver(mallory)
    verdicts = verify_video_grants([first, second], [second, first], resolver, post_id=POST, author=BOB, now=NOW)
    assert [v.ok for v in verdicts] == [True, True]

    only_note = verify_video_grants([first, second], [first], resolver, post_id=POST, author=BOB, now=NOW)
    assert [v.codes for v in only_note] == [[], [NOT_IN_MANIFEST]]
    only_manifest = verify_video_grants([first], [first, second], resolver, post_id=POST, author=BOB, now=NOW)
    assert [(v.grant_id, v.codes) for v in only_manifest] == [
        (first["id"], []), (second["id"], [NOT_ON_NOTE])]
    assert verify_video_grants([], [{"no": "id"}], resolver, post_id=POST, author=BOB)[0].codes == [MALFORMED]


# ----- C2PA claim entries ------------------------------------------------------------------------


def test_claim_entries_verify_against_their_key_snapshot(alice, mallory):
    entry = claim_entry(_grant(alice), alice.key)
    assert entry["ownerKey"] == {"id": alice.key.id, "type": "Multikey", "controller": alice.actor,
                                 "publicKeyMultibase": alice.key.multikey}
    [read] = read_claim_grants([entry], renderer_host="b.example", now=NOW)
    assert read.verdict.ok and read.offline and read.owner_key == alice.key

    [elsewhere] = read_claim_grants([entry], renderer_host="c.example", now=NOW)
    assert elsewhere.verdict.codes == [OTHER_POST]

    # A renderer that snapshots its own key as "alice's" is caught once alice's real key is asked.
    forged = claim_entry(sign(CameoAuthorization.from_json(_grant(alice)).to_json(CONTEXT),
                              mallory.private_pem, alice.key.id),
                         ResolvedKey(alice.key.id, alice.actor, mallory.key.multikey))
    [offline] = read_claim_grants([forged], renderer_host="b.example", now=NOW)
    assert offline.verdict.ok and offline.offline  # self-consistent, which is all a snapshot can show
    [online] = read_claim_grants([forged], renderer_host="b.example", resolve_key=alice.resolver(), now=NOW)
    assert online.verdict.codes == [BAD_PROOF] and not online.offline


@pytest.mark.parametrize("entry", [{"grant": "g1"}, {"grant": {}, "ownerKey": {}}, "x"])
def test_malformed_claim_entries_are_invalid_not_errors(entry):
    [read] = read_claim_grants([entry], renderer_host="b.example")
    assert read.verdict.codes == [MALFORMED] and read.owner_key is None


def test_missing_key_snapshot_is_an_unknown_key(alice):
    [read] = read_claim_grants([{"grant": _grant(alice)}], renderer_host="b.example", now=NOW)
    assert read.verdict.codes == [UNKNOWN_KEY]
