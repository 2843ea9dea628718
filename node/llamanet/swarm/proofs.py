"""Contact proofs: a DHT contact's id is its key's, proved by signing a fresh challenge (pure, no I/O).

A Kademlia id is the node id, ``sha256(public key)[:20]`` (``llamanet_common.identity``). Before a node
files a contact it sends the ``prove`` RPC to the contact's address: ``[challenger id (20), nonce (16)]``.
The contact answers ``[public key (32), signature (64), host, port, chain]``: ``host``/``port`` its
advertised contact (as in its frames, "" for "my packets' source host"), ``chain`` its membership
certificate chain (``llamanet_common.certs``, leaf first) or None, and the signature, by its node key,
over ``proof_message``::

    CONTACT_DOMAIN | nonce (16) | prover id (20) | challenger id (20) | host_len (1) | host | port (2)

``check_proof`` accepts the answer only if the key hashes to the claimed id, the signature holds and,
with swarm authorities, the chain is valid now; it says where the contact signed it is reached (its host
"" resolved against the address asked). ``ProvenContacts`` remembers proven contacts, bounded, so a
contact proves itself once, not at every packet.
"""

from __future__ import annotations

import math
import struct
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from llamanet.swarm.contact import contact_address
from llamanet.swarm.errors import ContactProofError
from llamanet.swarm.wire import Contact
from llamanet_common.certs import verify_chain
from llamanet_common.errors import CertError
from llamanet_common.identity import NODE_ID_BYTES, NodeIdentity, node_id_for_public_key, verify_signature

CONTACT_DOMAIN = b"llamanet-dht-contact-v2\n"
NONCE_BYTES = 16
_PORT = struct.Struct(">H")
Address = tuple[str, int]


@dataclass(frozen=True)
class ProvenContact:
    """A contact that proved its id: its key, where it signed it is reached, until when (its chain's
    end with an authority, else forever)."""

    node_id: bytes
    public_key: str
    where: Address
    until: float = math.inf


def proof_message(nonce: bytes, prover_id: bytes, challenger_id: bytes, contact: Contact) -> bytes:
    """The bytes a contact signs to answer ``nonce`` from ``challenger_id``."""
    host = contact.host.encode("ascii")
    return (
        CONTACT_DOMAIN
        + nonce
        + prover_id
        + challenger_id
        + bytes((len(host),))
        + host
        + _PORT.pack(contact.port)
    )


def answer_challenge(
    identity: NodeIdentity,
    nonce: bytes,
    challenger_id: bytes,
    contact: Contact,
    chain: list[dict[str, Any]] | None,
) -> list[Any]:
    """This node's answer to a ``prove`` request."""
    signature = identity.sign(proof_message(nonce, identity.node_id_bytes, challenger_id, contact))
    key = bytes.fromhex(identity.public_key_hex)
    return [key, bytes.fromhex(signature), contact.host, contact.port, chain or None]


def check_proof(
    answer: Any,
    *,
    claimed_id: bytes,
    challenger_id: bytes,
    nonce: bytes,
    asked: Address,
    authorities: frozenset[str] = frozenset(),
    now: float = 0.0,
    clock_skew_s: float = 0.0,
) -> ProvenContact:
    """The contact ``answer`` (to our ``nonce``, sent to ``asked``) proves for ``claimed_id``; raises
    ``ContactProofError`` saying why not."""
    if not isinstance(answer, list | tuple) or len(answer) != 5:
        raise ContactProofError("malformed proof answer")
    key, signature, host, port, chain = answer
    if not (_is_bytes(key, 32) and _is_bytes(signature, 64)):
        raise ContactProofError("malformed key or signature")
    if not isinstance(host, str) or not isinstance(port, int) or not host.isascii() or len(host) > 64:
        raise ContactProofError("malformed contact")
    if len(claimed_id) != NODE_ID_BYTES or bytes.fromhex(node_id_for_public_key(key)) != claimed_id:
        raise ContactProofError("the key does not hash to the claimed id")
    contact = Contact(host, port)
    message = proof_message(nonce, claimed_id, challenger_id, contact)
    if not verify_signature(key.hex(), message, signature.hex()):
        raise ContactProofError("bad signature")
    where = contact_address(contact, asked)
    if where is None:
        raise ContactProofError(f"unusable signed contact {host}:{port}")
    until = math.inf
    if authorities:
        try:
            verify_chain(chain or [], key.hex(), authorities, now, clock_skew_s)
        except CertError as exc:
            raise ContactProofError(f"not a certified member: {exc}") from exc
        until = min(float(cert["not_after"]) for cert in chain) + clock_skew_s
    return ProvenContact(claimed_id, key.hex(), where, until)


def _is_bytes(value: Any, size: int) -> bool:
    return isinstance(value, bytes) and len(value) == size


class ProvenContacts:
    """Contacts that proved their id (node id -> ``ProvenContact``), the least recently used dropped
    beyond ``max_entries``."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._proven: OrderedDict[bytes, ProvenContact] = OrderedDict()

    def get(self, node_id: bytes, where: Address, now: float) -> ProvenContact | None:
        """The proof of ``node_id`` at ``where``, if one holds at ``now``."""
        proven = self._proven.get(node_id)
        if proven is None or proven.where != where or proven.until <= now:
            return None
        self._proven.move_to_end(node_id)
        return proven

    def add(self, proven: ProvenContact) -> None:
        self._proven.pop(proven.node_id, None)
        self._proven[proven.node_id] = proven
        while len(self._proven) > self.max_entries:
            self._proven.popitem(last=False)

    def expired(self, now: float) -> list[ProvenContact]:
        """Forget and return the proofs that no longer hold at ``now`` (their certificate ended)."""
        gone = [p for p in self._proven.values() if p.until <= now]
        for proven in gone:
            del self._proven[proven.node_id]
        return gone

    def __len__(self) -> int:
        return len(self._proven)
