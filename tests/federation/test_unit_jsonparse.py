"""The one JSON reader for outside bodies: depth bounded before parsing, every failure a JSONRefused."""

from __future__ import annotations

import pytest

from federation.jsonparse import MAX_DEPTH, JSONRefused, parse_json, too_deep


def test_depth_is_bounded_before_parsing():
    assert parse_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)
    for body in (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), b'{"a":' * 5000 + b"1" + b"}" * 5000,
                 b"[" * 1_000_000, b"[" * 100 + b"}" * 100):
        with pytest.raises(JSONRefused):
            parse_json(body)


def test_brackets_inside_strings_do_not_count():
    body = b'{"content": "' + b"[{" * 10_000 + b'", "escaped": "\\"[[[[\\"", "n": [1, [2]]}'
    assert not too_deep(body)
    assert parse_json(body)["n"] == [1, [2]]


def test_what_the_standard_library_raised_on_is_refused():
    with pytest.raises(JSONRefused, match="4300|digits"):
        parse_json(b'{"n": ' + b"1" * 5000 + b"}")
    with pytest.raises(JSONRefused, match="UTF-8"):
        parse_json(b'{"a": "\xff"}')
    with pytest.raises(JSONRefused):
        parse_json(b'{"a": ')


def test_lone_surrogates_and_big_integers_are_read_for_the_caller_to_judge():
    assert parse_json(b'{"a": "\\ud800"}') == {"a": "\ud800"}
    assert parse_json(b'{"a": 99999999999999999999999}')["a"] >= 2**64
