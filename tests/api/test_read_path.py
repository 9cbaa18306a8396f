"""Issue 12: counts kept on write (and repaired by `vitascope admin recount`), and pages read with a
number of SQL statements that does not grow with the page."""

from __future__ import annotations

import asyncio
import sqlite3
import tomllib
from concurrent.futures import ThreadPoolExecutor

import pytest


@pytest.fixture(scope="module")
def counted(nodes):
    """A node that tells, per request, how many SQL statements it ran."""
    return nodes("counted", overrides={"database": {"count_statements": True}})


def user(node):
    username, password = node.create_user()
    api = node.api(node.token(username, password))
    api.id = api.get("/api/v1/accounts/verify_credentials").json()["id"]
    return api


def ok(response):
    assert response.status_code == 200, response.text
    return response.json()


def status_counts(api, status_id: str) -> dict:
    s = ok(api.get(f"/api/v1/statuses/{status_id}"))
    return {"favourites": s["favourites_count"], "reblogs": s["reblogs_count"], "replies": s["replies_count"],
            "remixes": s["vitascope"]["remixes_count"]}


def account_counts(api, account_id: str) -> dict:
    a = ok(api.get(f"/api/v1/accounts/{account_id}"))
    return {"followers": a["followers_count"], "following": a["following_count"], "statuses": a["statuses_count"]}


def listed(api, path: str) -> int:
    """How many rows a list endpoint holds (every page)."""
    total, url = 0, path + ("&" if "?" in path else "?") + "limit=40"
    while True:
        r = api.get(url)
        page = ok(r)
        total += len(page)
        if len(page) < 40:
            return total
        url = r.links["next"]["url"].removeprefix(api.base)


def assert_true_counts(api, status_id: str, account_ids: list[str]) -> None:
    """Every count equals what the list endpoints show."""
    assert status_counts(api, status_id) == {
        "favourites": listed(api, f"/api/v1/statuses/{status_id}/favourited_by"),
        "reblogs": listed(api, f"/api/v1/statuses/{status_id}/reblogged_by"),
        "replies": len(ok(api.get(f"/api/v1/statuses/{status_id}/context"))["descendants"]),
        "remixes": listed(api, f"/api/v1/statuses/{status_id}/remixes"),
    }
    for account_id in account_ids:
        assert account_counts(api, account_id) == {
            "followers": listed(api, f"/api/v1/accounts/{account_id}/followers"),
            "following": listed(api, f"/api/v1/accounts/{account_id}/following"),
            "statuses": listed(api, f"/api/v1/accounts/{account_id}/statuses"),
        }


def run_sql(node, statement: str) -> None:
    """Write to the node's database behind its back (what a bad restore or a manual edit does)."""
    url = tomllib.loads(node.config_path.read_text())["database"]["url"]
    if not url:
        with sqlite3.connect(node.data_dir / "vitascope.sqlite3") as db:
            db.execute(statement)
        return
    import asyncpg

    async def run():
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


def test_counts_follow_likes_reblogs_replies_remixes_deletes_and_relations(counted):
    alice, bob, carol = user(counted), user(counted), user(counted)
    post = ok(alice.post("/api/v1/statuses", data={"status": "count on me"}))["id"]
    people = [alice.id, bob.id, carol.id]

    for who in (bob, carol):
        ok(who.post(f"/api/v1/statuses/{post}/favourite"))
        ok(who.post(f"/api/v1/statuses/{post}/favourite"))  # twice: still one like
    assert status_counts(alice, post)["favourites"] == 2
    ok(bob.post(f"/api/v1/statuses/{post}/unfavourite"))
    ok(bob.post(f"/api/v1/statuses/{post}/unfavourite"))
    assert status_counts(alice, post)["favourites"] == 1

    ok(bob.post(f"/api/v1/statuses/{post}/reblog"))
    ok(carol.post(f"/api/v1/statuses/{post}/reblog"))
    ok(carol.post(f"/api/v1/statuses/{post}/unreblog"))
    assert status_counts(alice, post)["reblogs"] == 1
    assert account_counts(alice, bob.id)["statuses"] == 1  # a reblog is one of bob's statuses

    reply = ok(carol.post("/api/v1/statuses", data={"status": "a reply", "in_reply_to_id": post}))["id"]
    ok(bob.post("/api/v1/statuses", data={"status": "another", "in_reply_to_id": post}))
    remix = ok(carol.post("/api/v1/statuses", data={"status": "a remix", "remix_of_id": post}))["id"]
    assert status_counts(alice, post) == {"favourites": 1, "reblogs": 1, "replies": 2, "remixes": 1}
    ok(carol.delete(f"/api/v1/statuses/{reply}"))
    ok(carol.delete(f"/api/v1/statuses/{remix}"))
    assert status_counts(alice, post) == {"favourites": 1, "reblogs": 1, "replies": 1, "remixes": 0}

    ok(bob.post(f"/api/v1/accounts/{alice.id}/follow"))
    ok(carol.post(f"/api/v1/accounts/{alice.id}/follow"))
    ok(alice.post(f"/api/v1/accounts/{carol.id}/follow"))
    assert account_counts(bob, alice.id) == {"followers": 2, "following": 1, "statuses": 1}
    ok(bob.post(f"/api/v1/accounts/{alice.id}/unfollow"))
    ok(alice.post(f"/api/v1/accounts/{carol.id}/block"))  # a block ends both follows
    assert account_counts(bob, alice.id) == {"followers": 0, "following": 0, "statuses": 1}
    assert account_counts(bob, carol.id)["following"] == 0
    assert_true_counts(bob, post, people)

    # Deleting the post deletes its reblogs: bob's count drops with it.
    ok(alice.delete(f"/api/v1/statuses/{post}"))
    assert account_counts(bob, alice.id)["statuses"] == 0
    assert account_counts(bob, bob.id)["statuses"] == 1  # his reply only
    out = counted.cli("admin", "recount").stdout
    assert "all were right" in out, out


def test_concurrent_likes_and_follows_are_all_counted(counted):
    star = user(counted)
    post = ok(star.post("/api/v1/statuses", data={"status": "everyone at once"}))["id"]
    fans = [user(counted) for _ in range(8)]

    def react(fan):
        ok(fan.post(f"/api/v1/statuses/{post}/favourite"))
        ok(fan.post(f"/api/v1/accounts/{star.id}/follow"))
        ok(fan.post(f"/api/v1/statuses/{post}/reblog"))

    with ThreadPoolExecutor(len(fans)) as pool:
        list(pool.map(react, fans))
    assert status_counts(star, post)["favourites"] == status_counts(star, post)["reblogs"] == 8
    assert account_counts(star, star.id)["followers"] == 8
    with ThreadPoolExecutor(len(fans)) as pool:
        list(pool.map(lambda fan: ok(fan.post(f"/api/v1/statuses/{post}/unfavourite")), fans))
    assert status_counts(star, post)["favourites"] == 0
    assert_true_counts(star, post, [star.id] + [f.id for f in fans[:2]])


def test_recount_repairs_counts_written_behind_the_nodes_back(counted):
    alice, bob = user(counted), user(counted)
    post = ok(alice.post("/api/v1/statuses", data={"status": "to be broken"}))["id"]
    ok(bob.post(f"/api/v1/statuses/{post}/favourite"))
    ok(bob.post(f"/api/v1/accounts/{alice.id}/follow"))
    run_sql(counted, f"UPDATE status_stats SET favourites_count = 40, replies_count = 3 WHERE id = {post}")
    run_sql(counted, f"UPDATE account_stats SET followers_count = 7 WHERE id = {alice.id}")
    run_sql(counted, f"DELETE FROM account_stats WHERE id = {bob.id}")
    assert status_counts(alice, post)["favourites"] == 40
    out = counted.cli("admin", "recount").stdout
    assert "favourites_count 1" in out and "replies_count 1" in out and "followers_count 1" in out, out
    assert "rows 1" in out, out
    assert status_counts(alice, post) == {"favourites": 1, "reblogs": 0, "replies": 0, "remixes": 0}
    assert account_counts(alice, alice.id) == {"followers": 1, "following": 0, "statuses": 1}
    assert account_counts(alice, bob.id) == {"followers": 0, "following": 1, "statuses": 0}
    assert "all were right" in counted.cli("admin", "recount").stdout


def statements(api, path: str) -> int:
    r = api.get(path)
    assert r.status_code == 200, r.text
    return int(r.headers["X-Vitascope-Statements"])


def test_statements_per_page_do_not_grow_with_the_page(counted):
    """Page size 5 and 40, first page and page 6: the same number of statements, on every list."""
    me, friend, other = user(counted), user(counted), user(counted)
    my_name = ok(me.get("/api/v1/accounts/verify_credentials"))["username"]
    ok(me.post(f"/api/v1/accounts/{friend.id}/follow"))
    ok(me.post(f"/api/v1/accounts/{other.id}/follow"))
    ok(friend.post(f"/api/v1/accounts/{me.id}/follow"))
    posts = []
    for i in range(45):
        author = (friend, other)[i % 2]
        # Each mentions me: notifications with statuses.
        posts.append(ok(author.post("/api/v1/statuses", data={"status": f"@{my_name} post {i} #readpath"}))["id"])
        if i % 3 != 2:  # 30: pages 1 to 6 of 5
            ok(me.post(f"/api/v1/statuses/{posts[-1]}/favourite"))
            ok(me.post(f"/api/v1/statuses/{posts[-1]}/bookmark"))
        if i % 5 == 0:
            ok(friend.post(f"/api/v1/statuses/{posts[-1]}/reblog"))
            ok(other.post("/api/v1/statuses", data={"status": f"reply {i}", "in_reply_to_id": posts[-1]}))
    lists = ["/api/v1/timelines/home", "/api/v1/timelines/public", "/api/v1/timelines/public?local=true",
             "/api/v1/timelines/tag/readpath", f"/api/v1/accounts/{friend.id}/statuses", "/api/v1/favourites",
             "/api/v1/bookmarks", "/api/v1/notifications"]
    for path in lists:
        sep = "&" if "?" in path else "?"
        small, large = statements(me, f"{path}{sep}limit=5"), statements(me, f"{path}{sep}limit=40")
        r = me.get(f"{path}{sep}limit=5")
        for _ in range(5):  # on to page 6
            assert len(ok(r)) == 5, path
            r = me.get(r.links["next"]["url"].removeprefix(me.base))
        assert len(ok(r)) > 0, path
        assert small == large == int(r.headers["X-Vitascope-Statements"]), path
        # The token with its user, account and parental controls; the page (with its boosts'
        # originals on home and account pages, with the statuses of notifications, favourites and
        # bookmarks); everything the page shows (accounts with whom they moved to, media,
        # mentions, tags, counts, the viewer's marks and filters) — and the originals where the
        # page did not read them (none on public and hashtag timelines, which hold no boosts), the
        # account of an account's page.
        assert small <= (3 if "/timelines/" in path else 4), (path, small)
    search = [statements(me, f"/api/v2/search?q=readpath&type=statuses&limit={n}") for n in (5, 40)]
    assert search[0] == search[1], search
    # A thread: the same statements for one reply as for nine.
    one, nine = posts[5], posts[0]
    ok(other.delete(f"/api/v1/statuses/{ok(other.get(f'/api/v1/statuses/{one}/context'))['descendants'][0]['id']}"))
    ok(other.post("/api/v1/statuses", data={"status": "alone", "in_reply_to_id": one}))
    for i in range(8):
        ok(friend.post("/api/v1/statuses", data={"status": f"more {i}", "in_reply_to_id": nine}))
    assert statements(me, f"/api/v1/statuses/{one}/context") == statements(me, f"/api/v1/statuses/{nine}/context")


def test_pages_of_one_shape_are_each_viewers_own(counted):
    """Pages whose SQL is built once per shape (node.prepared) and run with each request's values:
    two viewers on the same shape each get their own page, whoever asks first, and every cursor
    walks the same statuses."""
    author, hider, reader = user(counted), user(counted), user(counted)
    posts = [ok(author.post("/api/v1/statuses", data={"status": f"shape {i}"}))["id"] for i in range(6)]
    ok(hider.post(f"/api/v1/accounts/{author.id}/block"))
    ok(reader.post(f"/api/v1/accounts/{author.id}/follow"))
    for first, second in ((hider, reader), (reader, hider)):
        for api in (first, second):
            seen = {s["id"] for s in ok(api.get("/api/v1/timelines/public?local=true&limit=40"))}
            home = {s["id"] for s in ok(api.get("/api/v1/timelines/home?limit=40"))}
            wanted = set(posts) if api is reader else set()
            assert seen & set(posts) == wanted and home & set(posts) == wanted
    anonymous = counted.api()
    assert [s["id"] for s in ok(anonymous.get(f"/api/v1/accounts/{author.id}/statuses?limit=40"))] == posts[::-1]
    newest_first = posts[::-1]
    path = f"/api/v1/accounts/{author.id}/statuses?limit=2"
    assert [s["id"] for s in ok(reader.get(f"{path}&max_id={posts[4]}"))] == newest_first[2:4]
    assert [s["id"] for s in ok(reader.get(f"{path}&since_id={posts[1]}"))] == newest_first[:2]
    assert [s["id"] for s in ok(reader.get(f"{path}&min_id={posts[1]}"))] == [posts[3], posts[2]]
    assert [s["id"] for s in ok(reader.get(f"{path}&min_id={posts[1]}&max_id={posts[3]}"))] == [posts[2]]
    # Notifications from one sender, then another: each answer names only its own.
    other = user(counted)
    name = ok(reader.get("/api/v1/accounts/verify_credentials"))["username"]
    for who in (author, other):
        ok(who.post("/api/v1/statuses", data={"status": f"@{name} hello"}))
    for who in (author, other, author):
        senders = {n["account"]["id"] for n in ok(reader.get(f"/api/v1/notifications?account_id={who.id}"))}
        assert senders == {who.id}
