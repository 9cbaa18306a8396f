"""WebFinger resource parsing and documents."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from federation.webfinger import host_meta_xml, jrd, parse_resource

HOST = "video.example"


@pytest.mark.parametrize(
    "resource,expected",
    [
        ("acct:alice@video.example", ("alice", "video.example")),
        ("ACCT:alice@Video.Example", ("alice", "video.example")),
        ("alice@video.example", ("alice", "video.example")),
        ("@alice@video.example", ("alice", "video.example")),
        ("acct:bob_2@other.example:8443", ("bob_2", "other.example:8443")),
        ("acct:first.last@video.example", ("first.last", "video.example")),
        ("https://video.example/users/alice", ("alice", "video.example")),
        ("https://video.example/@alice", ("alice", "video.example")),
        ("https://VIDEO.example/users/alice/", ("alice", "video.example")),
    ],
)
def test_parse_resource_accepts(resource, expected):
    assert parse_resource(resource, HOST) == expected


@pytest.mark.parametrize(
    "resource",
    [
        "",
        "acct:",
        "alice",
        "acct:alice",
        "acct:@video.example",
        "acct:alice@",
        "acct:alice@bob@video.example",
        "acct:al ice@video.example",
        "acct:alice@video..example",
        "acct:alice@-video.example",
        "acct:.alice@video.example",
        "mailto:alice@video.example",
        "https://elsewhere.example/users/alice",
        "https://video.example/about",
        "https://video.example/users/alice/followers",
        "https://video.example/users/",
    ],
)
def test_parse_resource_rejects_malformed(resource):
    with pytest.raises(ValueError):
        parse_resource(resource, HOST)


def test_jrd_shape():
    document = jrd(
        "acct:alice@video.example",
        ["https://video.example/users/alice", "https://video.example/@alice"],
        "https://video.example/users/alice",
        "https://video.example/@alice",
    )
    assert document["subject"] == "acct:alice@video.example"
    assert document["aliases"] == ["https://video.example/users/alice", "https://video.example/@alice"]
    links = {link["rel"]: link for link in document["links"]}
    assert links["self"] == {
        "rel": "self",
        "type": "application/activity+json",
        "href": "https://video.example/users/alice",
    }
    assert links["http://webfinger.net/rel/profile-page"]["href"] == "https://video.example/@alice"
    assert links["http://webfinger.net/rel/profile-page"]["type"] == "text/html"
    template = links["http://ostatus.org/schema/1.0/subscribe"]["template"]
    assert template == "https://video.example/authorize_interaction?uri={uri}"


def test_host_meta_points_at_webfinger():
    xml = host_meta_xml("http://127.0.0.1:8080/")
    root = ET.fromstring(xml)
    [link] = root.findall("{http://docs.oasis-open.org/ns/xri/xrd-1.0}Link")
    assert link.get("rel") == "lrdd"
    assert link.get("template") == "http://127.0.0.1:8080/.well-known/webfinger?resource={uri}"


def test_host_meta_escapes_base_url():
    root = ET.fromstring(host_meta_xml('https://video.example/a"b&c'))
    [link] = root
    assert link.get("template").startswith('https://video.example/a"b&c/')
