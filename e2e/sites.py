"""Sites on separate networks, joined only through masquerading NAT routers (issue 15 item 3).

Each site is a Docker network of its own (``llamanet-site-a``: 10.231.1.0/24, ``-b``: .2, ``-c``: .3).
Docker's isolation rules drop traffic between its networks, so the only path from one site to another
is its router: a container with one leg on the site's network (``.254``) and one on the shared "WAN"
network ``llamanet-wan`` (198.18.0.0/24, the benchmarking range; site A's router is 198.18.0.11, B's
.12, C's .13). A router masquerades everything its site sends to the WAN (the other sites see one source
address, the router's, with its own source ports) and forwards its site's advertised ports in from the
WAN (``DNAT``), as a NodePort or load balancer behind a firewall does, hairpin included (a site's pods
reach their own site's advertised address). The site's machines route the WAN through their router
(``ip route ... via .254``, set in their network namespace from this host).

A site's address for the others, what its pods advertise, is its router's WAN address. The routers are
plain ``debian:bookworm-slim`` containers running ``sleep``: their rules are set from this host with its
own ``ip``/``iptables`` through ``nsenter`` (no tools needed in the image). Needs root (as kind does).
"""

from __future__ import annotations

from dataclasses import dataclass

from e2e.kube import address_on, first_host, run

WAN = "llamanet-wan"
WAN_NET = "198.18.0"
ROUTER_IMAGE = "debian:bookworm-slim"  # made by `make base-image`, as every image here starts from it
KIND_PORTS = "30000:32767"  # a kind node's NodePort range: what a site's router forwards in


@dataclass(frozen=True)
class Site:
    """One site's network and router: ``index`` 1, 2, 3 for sites a, b, c."""

    name: str
    index: int

    @property
    def network(self) -> str:
        return f"llamanet-site-{self.name}"

    @property
    def subnet(self) -> str:
        return f"10.231.{self.index}.0/24"

    @property
    def router(self) -> str:
        return f"llamanet-router-{self.name}"

    @property
    def router_lan(self) -> str:
        return f"10.231.{self.index}.254"

    @property
    def wan_host(self) -> str:
        """The site's one address on the WAN: what the other sites reach and its nodes advertise."""
        return f"{WAN_NET}.{10 + self.index}"


SITES = {s.name: s for s in (Site("a", 1), Site("b", 2), Site("c", 3))}


def container_pid(container: str) -> str:
    return run(["docker", "inspect", "-f", "{{.State.Pid}}", container]).stdout.strip()


def in_netns(container: str, *cmd: str) -> str:
    """Run this host's ``cmd`` (ip, iptables) inside ``container``'s network namespace."""
    return run(["nsenter", "-t", container_pid(container), "-n", *cmd]).stdout


def ensure_network(name: str, subnet: str, *options: str) -> None:
    """The network, created with its gateway named (Docker 20.10's inspect omits one it chose itself)."""
    if run(["docker", "network", "inspect", name], check=False).returncode != 0:
        gateway = first_host(subnet)
        run(["docker", "network", "create", "--subnet", subnet, "--gateway", gateway, *options, name])


def interface_of(container: str, address: str) -> str:
    """The name of the interface holding ``address`` in ``container``'s namespace."""
    for line in in_netns(container, "ip", "-o", "-4", "addr", "show").splitlines():
        fields = line.split()
        if f"{address}/" in line:
            return fields[1].split("@")[0]
    raise RuntimeError(f"no interface of {container} holds {address}")


def prepare(site: Site) -> None:
    """The site's network and the WAN (before the site's machines are created on it)."""
    # no masquerade by this host for the WAN: with bridge netfilter it would also rewrite the packets a
    # router forwards into its site (source on the WAN, leaving on the site's bridge), and the answers
    # would go to this host instead of the router
    ensure_network(WAN, f"{WAN_NET}.0/24", "-o", "com.docker.network.bridge.enable_ip_masquerade=false")
    ensure_network(site.network, site.subnet)


def start_router(site: Site) -> None:
    """The site's router container on the WAN and the site's network (idempotent)."""
    prepare(site)
    state = run(["docker", "inspect", "-f", "{{.State.Running}}", site.router], check=False)
    if state.stdout.strip() != "true":
        run(["docker", "rm", "-f", site.router], check=False)
        run(
            [
                "docker", "run", "-d", "--name", site.router, "--network", WAN, "--ip", site.wan_host,
                "--sysctl", "net.ipv4.ip_forward=1", "--entrypoint", "sleep", ROUTER_IMAGE, "infinity",
            ]
        )  # fmt: skip
        run(["docker", "network", "connect", "--ip", site.router_lan, site.network, site.router])


def forward_in(site: Site, target: str, ports: str, *, hairpin: bool) -> None:
    """Masquerade the site's traffic to the WAN and forward ``ports`` (tcp and udp) from the router's
    WAN address to ``target``; with ``hairpin`` the site's own machines reach ``target`` that way too.
    The router's rules are replaced, so calling it again is harmless."""
    start_router(site)
    wan_if = interface_of(site.router, site.wan_host)
    lan_if = interface_of(site.router, site.router_lan)
    nat = ("iptables", "-t", "nat")
    in_netns(site.router, *nat, "-F")
    in_netns(site.router, *nat, "-A", "POSTROUTING", "-o", wan_if, "-j", "MASQUERADE")
    for proto in ("tcp", "udp"):
        dnat = ("-p", proto, "--dport", ports, "-j", "DNAT", "--to-destination", target)
        in_netns(site.router, *nat, "-A", "PREROUTING", "-i", wan_if, "-d", site.wan_host, *dnat)
        if hairpin:
            in_netns(site.router, *nat, "-A", "PREROUTING", "-i", lan_if, "-d", site.wan_host, *dnat)
    if hairpin:  # the answer must come back through the router, which undoes the DNAT
        rule = ("POSTROUTING", "-o", lan_if, "-s", site.subnet, "-d", target, "-j", "MASQUERADE")
        in_netns(site.router, *nat, "-A", *rule)


def route_wan_via_router(site: Site, container: str) -> None:
    """``container`` (a kind node, a node container) reaches the WAN through its site's router."""
    in_netns(container, "ip", "route", "replace", f"{WAN_NET}.0/24", "via", site.router_lan)


def join_site(site: Site, container: str, ports: str, *, hairpin: bool = True) -> str:
    """Put ``container`` (already on the site's network) behind the site's router, ``ports`` forwarded
    in to it; returns its address on the site's network."""
    address = address_on(container, site.network)
    forward_in(site, address, ports, hairpin=hairpin)
    route_wan_via_router(site, container)
    return address


def remove(site: Site) -> None:
    """The site's router and, when nothing else is on them, its network and the WAN."""
    run(["docker", "rm", "-f", site.router], check=False)
    run(["docker", "network", "rm", site.network], check=False)
    run(["docker", "network", "rm", WAN], check=False)  # refused while another router is on it
