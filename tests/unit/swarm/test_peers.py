import pytest

from llamanet.swarm.peers import backoff_delay, resolve_peers
from llamanet_common.addresses import parse_peers
from llamanet_common.errors import PeerAddressError


def test_parse_peers() -> None:
    assert parse_peers("a:1, b.example:2,[::1]:3,") == [("a", 1), ("b.example", 2), ("::1", 3)]
    assert parse_peers("") == []
    assert parse_peers(" , ") == []


@pytest.mark.parametrize(
    "bad", ["host", "host:", ":80", "h:0", "h:65536", "h:x", "::1:80", "[::1]80", "[::1"]
)
def test_parse_peers_rejects_bad_input(bad: str) -> None:
    with pytest.raises(PeerAddressError, match="bad peer"):
        parse_peers(bad)


def test_peer_address_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_peers("nope")


def test_backoff_schedule_doubles_and_caps() -> None:
    assert [backoff_delay(i) for i in range(8)] == [1, 2, 4, 8, 16, 30, 30, 30]
    assert backoff_delay(3, initial=0.1, cap=0.5) == 0.5
    assert backoff_delay(10_000) == 30
    with pytest.raises(ValueError):
        backoff_delay(-1)


async def test_resolve_peers_resolves_names_and_drops_unknown_hosts() -> None:
    resolved = await resolve_peers([("localhost", 4000), ("127.0.0.1", 4001), ("no-such-host.invalid", 1)])
    assert resolved == [("127.0.0.1", 4000), ("127.0.0.1", 4001)]
