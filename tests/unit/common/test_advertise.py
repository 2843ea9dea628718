from __future__ import annotations

import pytest

from llamanet_common.advertise import Advertised, AdvertiseFileError, format_url, parse_advertised


def test_round_trip_and_normalised_urls() -> None:
    doc = parse_advertised(
        '{"dht": {"host": "203.0.113.7", "port": 31001}, "urls": ["http://203.0.113.7:31002/"]}'
    )
    assert (doc.dht.host, doc.dht.port, doc.urls) == ("203.0.113.7", 31001, ["http://203.0.113.7:31002"])
    assert parse_advertised(doc.to_json()) == doc
    assert doc.to_json() == Advertised.model_validate(doc.model_dump()).to_json()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        '{"dht": {"host": "h"}, "urls": ["http://h:1"]}',
        '{"dht": {"host": "h", "port": 0}, "urls": ["http://h:1"]}',
        '{"dht": {"host": "h", "port": 1}, "urls": []}',
        '{"dht": {"host": "h", "port": 1}, "urls": ["ftp://h:1"]}',
        '{"dht": {"host": "h", "port": 1}, "urls": ["http://h:1"], "extra": 1}',
        '{"dht": {"host": "' + "h" * 5000 + '", "port": 1}, "urls": ["http://h:1"]}',
    ],
)
def test_bad_documents_say_what_is_wrong(text: str) -> None:
    with pytest.raises(AdvertiseFileError, match="advertise file"):
        parse_advertised(text)


def test_format_url_brackets_ipv6() -> None:
    assert format_url("10.0.0.1", 30900) == "http://10.0.0.1:30900"
    assert format_url("fd00::1", 30900) == "http://[fd00::1]:30900"
