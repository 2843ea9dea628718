"""Node-to-node proofs over HTTP: the signed forward header and the proof of address (pure, no I/O).

Forward proof (``x-llamanet-forward``): a node that forwards a request (or probes a peer's ``/status``)
signs, with its Ed25519 identity key, the method, the path with its query, the sha256 of the body, its own
and the target's node id, the hop count, a timestamp and a nonce. With a swarm secret it also MACs the
same bytes (HMAC-SHA256 keyed from the secret), proving membership. The request's allowed-sites header
(``SITES_HEADER``, empty when absent) is one more signed line, so no one on the way can widen it.
The receiver checks the signature, that it is the target, the time window, the MAC when it holds a
secret, and that the nonce is new (``ReplayCache``). The user's own
credential is never part of it: it stays at the entry node.

Proof of address: before user traffic goes to a URL from a DHT record, the router (or client) asks
``GET /swarm/proof?u=<url>&c=<challenge>``; the node there signs ``ADDRESS_DOMAIN | url | challenge`` with
its identity key, and the answer is checked against the record's public key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llamanet_common.errors import FormatError
from llamanet_common.identity import NodeIdentity, node_id_for_public_key, verify_signature

FORWARD_HEADER = "x-llamanet-forward"
SITES_HEADER = "x-llamanet-allowed-sites"  # the data-residency set a forwarded request carries: signed
FORWARD_VERSION = "2"
FORWARD_DOMAIN = b"llamanet-forward-v2"
ADDRESS_DOMAIN = b"llamanet-address-proof-v2"
PROOF_PATH = "/swarm/proof"
DEFAULT_WINDOW_S = 30.0
_FIELDS = ("v", "key", "to", "hops", "ts", "nonce", "body", "sig")
_MAX_HEADER = 1024


class ProofError(FormatError):
    """A forward proof or address proof that does not hold; ``str()`` says why (safe to show)."""


@dataclass(frozen=True)
class ForwardProof:
    """A verified (or freshly made) forward proof."""

    sender_id: str
    public_key: str
    target_id: str
    hops: int
    ts_ms: int
    nonce: str
    body_sha256: str
    signature: str
    mac: str = ""

    def header(self) -> str:
        parts = [
            f"v={FORWARD_VERSION}",
            f"key={self.public_key}",
            f"to={self.target_id}",
            f"hops={self.hops}",
            f"ts={self.ts_ms}",
            f"nonce={self.nonce}",
            f"body={self.body_sha256}",
            f"sig={self.signature}",
        ]
        if self.mac:
            parts.append(f"mac={self.mac}")
        return ", ".join(parts)


def mac_key(secret: bytes) -> bytes:
    """The forward-MAC key derived from the swarm secret (not the secret itself, not the DHT frame key)."""
    return hmac.new(secret, FORWARD_DOMAIN, hashlib.sha256).digest()


def canonical_forward(
    method: str,
    path: str,
    body_sha256: str,
    sender_id: str,
    target_id: str,
    hops: int,
    ts_ms: int,
    nonce: str,
    sites: str = "",
) -> bytes:
    """The bytes signed (and MACed): one field a line, after the domain tag."""
    fields = [method.upper(), path, body_sha256, sender_id, target_id, str(hops), str(ts_ms), nonce, sites]
    return b"\n".join([FORWARD_DOMAIN, *(f.encode() for f in fields)])


def sign_forward(
    identity: NodeIdentity,
    *,
    method: str,
    path: str,
    body: bytes,
    target_id: str,
    hops: int,
    now_s: float,
    secret: bytes | None = None,
    nonce: str | None = None,
    sites: str = "",
) -> ForwardProof:
    """A proof by ``identity`` for this request to ``target_id`` (sent with ``sites`` as its header)."""
    digest = hashlib.sha256(body).hexdigest()
    ts_ms = int(now_s * 1000)
    nonce = nonce or secrets.token_hex(12)
    data = canonical_forward(method, path, digest, identity.node_id, target_id, hops, ts_ms, nonce, sites)
    mac = hmac.new(mac_key(secret), data, hashlib.sha256).hexdigest() if secret else ""
    return ForwardProof(
        identity.node_id,
        identity.public_key_hex,
        target_id,
        hops,
        ts_ms,
        nonce,
        digest,
        identity.sign(data),
        mac,
    )


@dataclass(frozen=True)
class ForwardSigner:
    """Signs this node's forwarded requests and probes (and MACs them with the swarm secret)."""

    identity: NodeIdentity
    secret: bytes | None = None
    clock: Callable[[], float] = field(default=time.time)

    def headers(
        self, method: str, path: str, body: bytes, target_id: str, hops: int, sites: str = ""
    ) -> dict[str, str]:
        proof = sign_forward(
            self.identity,
            method=method,
            path=path,
            body=body,
            target_id=target_id,
            hops=hops,
            now_s=self.clock(),
            secret=self.secret,
            sites=sites,
        )
        return {FORWARD_HEADER: proof.header()}


def parse_forward_header(header: str) -> dict[str, str]:
    if len(header) > _MAX_HEADER:
        raise ProofError("forward proof header too long")
    fields: dict[str, str] = {}
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or name in fields:
            raise ProofError("malformed forward proof header")
        fields[name] = value
    missing = [f for f in _FIELDS if f not in fields]
    if missing:
        raise ProofError(f"forward proof lacks {', '.join(missing)}")
    if fields["v"] != FORWARD_VERSION:
        raise ProofError(f"forward proof version {fields['v'][:8]!r}; this node speaks {FORWARD_VERSION}")
    return fields


def verify_forward(
    header: str,
    *,
    method: str,
    path: str,
    body: bytes,
    self_id: str,
    now_s: float,
    secret: bytes | None,
    window_s: float = DEFAULT_WINDOW_S,
    sites: str = "",
) -> ForwardProof:
    """The proof in ``header`` if it holds for this request (its ``SITES_HEADER`` value: ``sites``) at
    this node; ``ProofError`` otherwise.

    Replays are not checked here (``ReplayCache`` holds that state); every other check is.
    """
    f = parse_forward_header(header)
    try:
        hops, ts_ms = int(f["hops"]), int(f["ts"])
        sender = node_id_for_public_key(bytes.fromhex(f["key"]))
    except ValueError as exc:
        raise ProofError("malformed forward proof header") from exc
    if len(f["key"]) != 64 or not 8 <= len(f["nonce"]) <= 64 or hops < 0:
        raise ProofError("malformed forward proof header")
    if f["to"] != self_id:
        raise ProofError("forward proof is for another node")
    if abs(now_s * 1000 - ts_ms) > window_s * 1000:
        raise ProofError(f"forward proof timestamp outside the {window_s:.0f}s window (check clocks)")
    digest = hashlib.sha256(body).hexdigest()
    if not hmac.compare_digest(f["body"], digest):
        raise ProofError("forward proof does not match the body")
    data = canonical_forward(method, path, digest, sender, self_id, hops, ts_ms, f["nonce"], sites)
    if not verify_signature(f["key"], data, f["sig"]):
        raise ProofError("bad forward proof signature")
    mac = f.get("mac", "")
    if secret is not None:
        want = hmac.new(mac_key(secret), data, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(mac, want):
            raise ProofError("forward proof lacks this swarm's secret")
    return ForwardProof(sender, f["key"], self_id, hops, ts_ms, f["nonce"], digest, f["sig"], mac)


class ReplayCache:
    """Nonces of proofs seen within the window, bounded: ``check_and_add`` is False for a repeat.

    When full of nonces still inside the window it refuses new ones (fail closed) rather than forgetting
    one that could then be replayed; only proofs that passed every other check get here.
    """

    def __init__(self, window_s: float = DEFAULT_WINDOW_S, max_entries: int = 100_000) -> None:
        self.window_s = window_s
        self.max_entries = max_entries
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()  # insertion (arrival) order

    def check_and_add(self, sender_id: str, nonce: str, now_s: float) -> bool:
        horizon = now_s - 2 * self.window_s  # a proof is valid for window_s either side of its ts
        while self._seen:
            key, seen_at = next(iter(self._seen.items()))
            if seen_at >= horizon:
                break
            del self._seen[key]
        key = (sender_id, nonce)
        if key in self._seen or len(self._seen) >= self.max_entries:
            return False
        self._seen[key] = now_s
        return True

    def __len__(self) -> int:
        return len(self._seen)


def new_challenge() -> str:
    return secrets.token_hex(32)


def address_bytes(url: str, challenge: str) -> bytes:
    return b"\n".join([ADDRESS_DOMAIN, url.encode(), challenge.encode()])


def sign_address(identity: NodeIdentity, url: str, challenge: str) -> dict[str, str]:
    """The answer of ``GET /swarm/proof``: this node's id and its signature over url and challenge."""
    return {"node_id": identity.node_id, "sig": identity.sign(address_bytes(url, challenge))}


def verify_address(answer: Any, *, url: str, challenge: str, node_id: str, public_key: str) -> None:
    """Raise ``ProofError`` unless ``answer`` proves that ``url`` is served by ``public_key``."""
    if not isinstance(answer, dict) or not isinstance(answer.get("sig"), str):
        raise ProofError("address proof answer is not a proof")
    if answer.get("node_id") != node_id:
        raise ProofError("address proof names another node")
    if len(answer["sig"]) > 256 or not verify_signature(
        public_key, address_bytes(url, challenge), answer["sig"]
    ):
        raise ProofError(f"{url} did not prove it is served by the record's key")
