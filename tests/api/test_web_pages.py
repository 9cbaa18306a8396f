"""Profile and status pages, with OpenGraph tags for link previews."""

import requests


def test_profile_and_status_pages(node):
    alice = node.mastodon()
    alice.account_update_credentials(display_name="Alice <script>")
    post = alice.status_post("look at this clip")
    profile = requests.get(f"{node.url}/@{alice.vs_username}")
    assert profile.status_code == 200
    assert "Alice &lt;script&gt;" in profile.text and "<script>" not in profile.text
    assert "look at this clip" in profile.text
    page = requests.get(f"{node.url}/@{alice.vs_username}/{post['id']}")
    assert page.status_code == 200
    assert '<meta property="og:description" content="look at this clip">' in page.text
    assert f'<meta property="og:url" content="{node.url}/@{alice.vs_username}/{post["id"]}">' in page.text
    assert requests.get(f"{node.url}/@nobody_here").status_code == 404
    assert requests.get(f"{node.url}/@{alice.vs_username}/123").status_code == 404
    assert requests.get(f"{node.url}/@{alice.vs_username}/notanid").status_code == 404


def test_private_status_page_is_not_public(node):
    alice = node.mastodon()
    post = alice.status_post("secret", visibility="private")
    assert requests.get(f"{node.url}/@{alice.vs_username}/{post['id']}").status_code == 404
