"""The node answers real Mastodon.py clients."""


def test_password_login_and_verify_credentials(node):
    client = node.mastodon()
    me = client.account_verify_credentials()
    assert me["username"] == client.vs_username
    assert me["acct"] == client.vs_username


def test_post_and_read_back(node):
    client = node.mastodon()
    status = client.status_post("hello #vitascope world")
    assert "hello" in status["content"]
    assert status["tags"][0]["name"] == "vitascope"
    assert client.status(status["id"])["id"] == status["id"]
