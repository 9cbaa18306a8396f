"""A second real client: the `toot` CLI (JSON app registration, trailing-slash routes)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TOOT = shutil.which("toot") or str(Path(sys.executable).parent / "toot")


def toot(config_home, *args, stdin=None):
    env = {**os.environ, "XDG_CONFIG_HOME": str(config_home), "NO_COLOR": "1", "COLUMNS": "120"}
    return subprocess.run([TOOT, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.skipif(not Path(TOOT).exists(), reason="toot is installed with the test extra")
def test_toot_logs_in_posts_follows_and_reads(node, tmp_path):
    username, password = node.create_user()
    friend = node.mastodon()
    login = toot(tmp_path, "login_cli", "-i", node.url, "-e", f"{username}@example.com", stdin=password + "\n")
    assert login.returncode == 0, login.stdout + login.stderr
    posted = toot(tmp_path, "post", "hello from toot")
    assert posted.returncode == 0 and f"/@{username}/" in posted.stdout
    followed = toot(tmp_path, "follow", friend.vs_username)
    assert followed.returncode == 0, followed.stdout + followed.stderr
    friend.status_post("a post toot should see")
    timeline = toot(tmp_path, "timeline")
    assert "hello from toot" in timeline.stdout and "a post toot should see" in timeline.stdout
    assert friend.account_followers(friend.me()["id"])[0]["username"] == username
