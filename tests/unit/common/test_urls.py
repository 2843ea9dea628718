"""Peer URL form and address classes (records refuse bad URLs; readers choose networks)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from llamanet_common.record import RecordFields
from llamanet_common.urls import NetworkPolicy, network_class, url_problem


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000", "https://node-a.example.org", "http://[::1]:8000", "http://10.1.2.3:80",
     "http://llamanet-0.llamanet.default.svc:8000"],
)  # fmt: skip
def test_scheme_host_and_port_are_valid(url: str) -> None:
    assert url_problem(url) is None
    assert RecordFields(urls=[url]).urls == [url]


@pytest.mark.parametrize(
    "url",
    [
        "gopher://127.0.0.1:70",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "http://127.0.0.1:8000/internal/secret-endpoint?x=",
        "http://127.0.0.1:8000/",
        "http://127.0.0.1:8000?x=1",
        "http://127.0.0.1:8000#f",
        "http://user:pw@127.0.0.1:8000",
        "http://:8000",
        "http://127.0.0.1:99999",
        "http://169.254.169.254",
        "http://169.254.10.1:8000",
        "http://[fe80::1]:8000",
        "http://[::ffff:169.254.169.254]:80",
        "http://metadata.google.internal",
        "http://0.0.0.0:8000",
        "http://224.0.0.1:8000",
    ],
)
def test_other_urls_make_the_record_invalid(url: str) -> None:
    assert url_problem(url) is not None
    with pytest.raises(ValidationError):
        RecordFields(urls=[url])


def test_network_classes_and_the_auto_policy() -> None:
    assert network_class("http://127.0.0.2:1") == network_class("http://localhost:1") == "loopback"
    assert network_class("http://10.0.0.1:1") == network_class("http://[fd00::1]:1") == "private"
    assert network_class("http://8.8.8.8:1") == network_class("http://node.example:1") == "public"
    site = NetworkPolicy.parse("auto", own_host="10.0.0.4")
    assert site.allows("http://10.0.0.5:8000") and not site.allows("http://127.0.0.1:8000")
    local = NetworkPolicy.parse("auto", own_host="127.0.0.1")
    assert local.allows("http://127.0.0.1:8000")
    assert not local.allows("http://169.254.169.254:80")
    assert not NetworkPolicy.parse("public").allows("http://192.168.1.1:80")
    with pytest.raises(ValueError, match="unknown network class"):
        NetworkPolicy.parse("intranet")
