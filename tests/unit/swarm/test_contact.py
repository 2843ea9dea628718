import pytest

from llamanet.swarm.contact import contact_address, own_contact, unusable_reason
from llamanet.swarm.wire import Contact

NAT = ("203.0.113.9", 40123)  # what a masquerading NAT makes of a pod's packets


def test_a_peer_is_filed_at_its_advertised_contact_not_at_the_packet_source() -> None:
    assert contact_address(Contact("203.0.113.9", 30001), NAT) == ("203.0.113.9", 30001)
    assert contact_address(Contact("198.51.100.4", 8001), NAT) == ("198.51.100.4", 8001)


def test_an_empty_host_means_the_packet_source_host_with_the_advertised_port() -> None:
    assert contact_address(Contact("", 30001), NAT) == ("203.0.113.9", 30001)


@pytest.mark.parametrize(
    "host",
    [
        "169.254.169.254",  # cloud metadata (link-local)
        "169.254.1.1",
        "100.100.100.200",
        "168.63.129.16",
        "0.0.0.0",
        "0.1.2.3",
        "224.0.0.1",
        "255.255.255.255",
        "240.0.0.1",
        "example.org",
        "::1",
        "10.0.0.1 ",
        "",
    ],
)
def test_unusable_advertised_hosts_are_refused(host: str) -> None:
    source = ("0.0.0.0", 1) if host == "" else NAT  # "" takes the source's host, here unspecified
    assert contact_address(Contact(host, 8001), source) is None


def test_bad_ports_are_refused() -> None:
    assert contact_address(Contact("10.0.0.1", 0), NAT) is None
    assert contact_address(Contact("10.0.0.1", 65536), NAT) is None


def test_loopback_only_from_a_loopback_source() -> None:
    assert contact_address(Contact("127.0.0.1", 8001), NAT) is None
    assert contact_address(Contact("127.0.0.1", 8001), ("127.0.0.1", 5000)) == ("127.0.0.1", 8001)


def test_private_and_public_addresses_are_usable() -> None:
    for host in ("10.1.2.3", "192.168.0.5", "172.16.0.1", "100.64.0.1", "8.8.8.8"):
        assert unusable_reason(host) is None


def test_own_contact_is_the_advertised_host_else_the_bind_address() -> None:
    assert own_contact("203.0.113.9", ("0.0.0.0", 8001), 30001) == Contact("203.0.113.9", 30001)
    assert own_contact(None, ("10.0.0.5", 8001), None) == Contact("10.0.0.5", 8001)
    assert own_contact(None, ("0.0.0.0", 8001), None) == Contact("", 8001)
    assert own_contact("pod-0.headless.ns.svc", ("0.0.0.0", 8001), None) == Contact("", 8001)  # unresolved
