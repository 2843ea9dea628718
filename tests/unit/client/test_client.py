import pytest

from llamanet.client import Client, ClientError, DiscoveryError
from llamanet.client.client import request_body


def test_request_body_leaves_out_unset_fields() -> None:
    assert request_body(prompt="p", model=None, max_tokens=3, stop=None) == {"prompt": "p", "max_tokens": 3}


def test_client_needs_exactly_one_source_of_nodes() -> None:
    with pytest.raises(ClientError):
        Client()
    with pytest.raises(ClientError):
        Client("localhost:8001", nodes=["http://h:1"])
    with pytest.raises(DiscoveryError):
        Client("no-port")
