"""A real masquerading NAT for tests: network namespaces, veth pairs and iptables (needs root).

Layout (``NatLab``)::

    host (outside)  ----veth----  router ns (NAT)  ----veth----  inner ns (behind the NAT)
    10.213.1.1/24                 10.213.1.254 | 10.213.2.254     10.213.2.2/24, default via the router

The router masquerades everything the inner side sends out (``MASQUERADE --random``: the NAT's address
and a random source port, as a cloud NAT or a kube-proxy SNAT does) and forwards the given ports in
(``DNAT``), as a NodePort or a load balancer does. The host has no route into 10.213.2.0/24: the inner
side is reachable only at the NAT's address and its forwarded ports. With ``hairpin``, the forwarded
ports work from the inner side too (the router sends them back in, masqueraded as itself), as most
routers and cloud load balancers do and as a site whose nodes advertise the NAT's address needs.
``close`` deletes the namespaces (and with them every veth end and iptables rule the lab made).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field

OUTER_NET, INNER_NET = "10.213.1", "10.213.2"
HOST_ADDR, NAT_ADDR, INNER_ADDR = f"{OUTER_NET}.1", f"{OUTER_NET}.254", f"{INNER_NET}.2"


NOT_ROOT = os.geteuid() != 0  # namespaces and iptables need root: the only reason to skip


def missing_tools() -> str | None:
    """Which tool a root machine lacks to build the lab (a failure, not a skip), or None."""
    for tool in ("ip", "iptables"):
        if shutil.which(tool) is None:
            return f"{tool} is missing: scripts/docker-engine.sh (make docker) installs it"
    return None


def sh(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


@dataclass
class NatLab:
    tag: str = field(default_factory=lambda: f"{os.getpid() % 100000}")
    forwards: list[tuple[str, int, int]] = field(default_factory=list)  # (proto, NAT port, inner port)
    hairpin: bool = False

    @property
    def router(self) -> str:
        return f"llnat-r{self.tag}"

    @property
    def inner(self) -> str:
        return f"llnat-b{self.tag}"

    @property
    def host_if(self) -> str:
        return f"lln{self.tag}h"

    def exec_prefix(self) -> list[str]:
        """Prefix that runs a command inside the inner namespace."""
        return ["ip", "netns", "exec", self.inner]

    def open(self) -> NatLab:
        self.close()  # leftovers of an earlier run with the same tag
        r, b = self.router, self.inner
        sh("ip", "netns", "add", r)
        sh("ip", "netns", "add", b)
        sh("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", "rout", "netns", r)
        sh("ip", "addr", "add", f"{HOST_ADDR}/24", "dev", self.host_if)
        sh("ip", "link", "set", self.host_if, "up")
        ns_r, ns_b = ("ip", "-n", r), ("ip", "-n", b)
        sh(*ns_r, "link", "add", "rin", "type", "veth", "peer", "name", "bin", "netns", b)
        sh(*ns_r, "addr", "add", f"{NAT_ADDR}/24", "dev", "rout")
        sh(*ns_r, "addr", "add", f"{INNER_NET}.254/24", "dev", "rin")
        for dev in ("lo", "rout", "rin"):
            sh(*ns_r, "link", "set", dev, "up")
        sh(*ns_b, "addr", "add", f"{INNER_ADDR}/24", "dev", "bin")
        for dev in ("lo", "bin"):
            sh(*ns_b, "link", "set", dev, "up")
        sh(*ns_b, "route", "add", "default", "via", f"{INNER_NET}.254")
        in_r = ("ip", "netns", "exec", r)
        sh(*in_r, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        nat = (*in_r, "iptables", "-t", "nat", "-A")
        sh(*nat, "POSTROUTING", "-s", f"{INNER_NET}.0/24", "-o", "rout", "-j", "MASQUERADE", "--random")
        for proto, outer, inner in self.forwards:
            sh(*nat, "PREROUTING", "-i", "rout", "-p", proto, "--dport", str(outer),
               "-j", "DNAT", "--to-destination", f"{INNER_ADDR}:{inner}")  # fmt: skip
            if self.hairpin:
                sh(*nat, "PREROUTING", "-i", "rin", "-d", NAT_ADDR, "-p", proto, "--dport", str(outer),
                   "-j", "DNAT", "--to-destination", f"{INNER_ADDR}:{inner}")  # fmt: skip
        if self.hairpin:
            sh(*nat, "POSTROUTING", "-s", f"{INNER_NET}.0/24", "-o", "rin", "-j", "MASQUERADE")
        return self

    def close(self) -> None:
        for ns in (self.inner, self.router):
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True, timeout=30, check=False)
        subprocess.run(["ip", "link", "delete", self.host_if], capture_output=True, timeout=30, check=False)
