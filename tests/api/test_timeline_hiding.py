"""Every page of statuses keeps the viewer's blocks, mutes and audiences (node.services.visibility):
home, a list, public, a hashtag and an account's page, through Mastodon.py, on SQLite and
PostgreSQL alike. The streams' side of the same rule is in test_stream_privacy."""

from __future__ import annotations

import uuid


def _ids(statuses: list[dict]) -> set[str]:
    return {s["id"] for s in statuses}


def test_pages_leave_out_what_blocks_and_mutes_hide(node):
    alice, dave = node.mastodon(), node.mastodon()  # alice blocks and mutes; dave has no relationships
    bob, carol, gina, erin, frank = (node.mastodon() for _ in range(5))
    ids = {name: who.me()["id"] for name, who in
           (("bob", bob), ("carol", carol), ("gina", gina), ("erin", erin), ("frank", frank), ("dave", dave))}
    for name in ("bob", "carol", "gina", "erin", "frank"):
        alice.account_follow(ids[name])
    alice.account_block(ids["bob"])  # ends the follow
    alice.account_mute(ids["carol"])  # keeps it
    gina.account_block(alice.me()["id"])  # blocked by gina: ends alice's follow of gina
    tag = "hide" + uuid.uuid4().hex[:8]
    by_bob, by_carol, by_gina = (who.status_post(f"{who.vs_username} #{tag}") for who in (bob, carol, gina))
    by_dave = dave.status_post(f"dave #{tag}")
    hidden = [by_bob, by_carol, by_gina,
              erin.status_post(f"@{bob.vs_username} about bob #{tag}"),  # mentions an account alice blocked
              erin.status_post(f"@{carol.vs_username} about carol #{tag}"),  # … or muted
              *(frank.status_reblog(s["id"]) for s in (by_bob, by_carol, by_gina))]  # boosts of their posts
    shown = [erin.status_post(f"@{gina.vs_username} about gina #{tag}"),  # gina's block does not reach erin
             alice.status_post(f"@{bob.vs_username} my own #{tag}"),  # alice's own posts are never hidden
             frank.status_post(f"frank #{tag}")]
    boost_of_dave = frank.status_reblog(by_dave["id"])
    hidden_ids = _ids(hidden)

    home = _ids(alice.timeline_home(limit=40))
    assert _ids(shown) | {boost_of_dave["id"]} <= home
    assert not hidden_ids & home
    lst = alice.list_create("friends")
    alice.list_accounts_add(lst["id"], [ids["frank"], ids["erin"]])
    in_list = _ids(alice.timeline_list(lst["id"], limit=40))
    assert _ids(shown) - {shown[1]["id"]} | {boost_of_dave["id"]} <= in_list and not hidden_ids & in_list

    originals = [s for s in hidden if s.get("reblog") is None]  # public pages hold no boosts
    assert _ids(alice.timeline_hashtag(tag, limit=40)) == _ids(shown) | {by_dave["id"]}
    assert _ids(dave.timeline_hashtag(tag, limit=40)) == _ids(shown) | _ids(originals) | {by_dave["id"]}
    public = _ids(alice.timeline_public(local=True, limit=40))
    assert _ids(shown) <= public and not hidden_ids & public
    assert _ids(originals) <= _ids(dave.timeline_public(local=True, limit=40))

    # An account's page: nothing of an account blocked either way; the rest as dave sees it.
    assert alice.account_statuses(ids["bob"]) == [] and alice.account_statuses(ids["gina"]) == []
    assert _ids(dave.account_statuses(ids["bob"])) == {by_bob["id"]}
    assert by_carol["id"] in _ids(alice.account_statuses(ids["carol"]))  # a mute hides from lists, not pages


def test_an_account_page_shows_private_and_direct_posts_only_to_their_audience(node):
    frank, follower, stranger, named = (node.mastodon() for _ in range(4))
    frank_id = frank.me()["id"]
    follower.account_follow(frank_id)
    public = frank.status_post("for everyone")
    private = frank.status_post("for my followers", visibility="private")
    direct = frank.status_post(f"@{named.vs_username} for you", visibility="direct")
    assert _ids(follower.account_statuses(frank_id)) == {public["id"], private["id"]}
    assert _ids(stranger.account_statuses(frank_id)) == {public["id"]}
    assert _ids(named.account_statuses(frank_id)) == {public["id"], direct["id"]}
    assert _ids(frank.account_statuses(frank_id)) == {public["id"], private["id"], direct["id"]}
    frank.account_block(follower.me()["id"])  # the block ends the follow, and hides frank from it
    assert follower.account_statuses(frank_id) == []
