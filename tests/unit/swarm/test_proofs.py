"""Contact proofs (``swarm.proofs``): the signed challenge answer, its checks, the proven-contact cache,
and the answer's size against the amplification budget."""

from __future__ import annotations

import math
import os
from typing import Any

import pytest
import umsgpack

from llamanet.swarm.errors import ContactProofError
from llamanet.swarm.proofs import (
    CONTACT_DOMAIN,
    NONCE_BYTES,
    ProvenContact,
    ProvenContacts,
    answer_challenge,
    check_proof,
    proof_message,
)
from llamanet.swarm.transport import AMPLIFICATION
from llamanet.swarm.validation import RecordLimits
from llamanet.swarm.wire import REQUEST_PAD_BYTES, Contact, encode_frame
from llamanet_common.certs import issue_certificate
from llamanet_common.identity import NodeIdentity
from llamanet_common.record import RecordFields, build_record

ME, ROOT, SITE = NodeIdentity.generate(), NodeIdentity.generate(), NodeIdentity.generate()
CHALLENGER = os.urandom(20)
NONCE = os.urandom(NONCE_BYTES)
ASKED = ("10.0.0.7", 8468)
NOW = 1_000_000


def check(answer: Any, **kw: Any) -> ProvenContact:
    args: dict[str, Any] = {
        "claimed_id": ME.node_id_bytes,
        "challenger_id": CHALLENGER,
        "nonce": NONCE,
        "asked": ASKED,
        **kw,
    }
    return check_proof(answer, **args)


AT = Contact("10.0.0.7", 8468)


def answer(contact: Contact = AT, chain: Any = None) -> list[Any]:
    return answer_challenge(ME, NONCE, CHALLENGER, contact, chain)


def test_the_message_binds_domain_nonce_both_ids_and_the_contact() -> None:
    message = proof_message(NONCE, ME.node_id_bytes, CHALLENGER, Contact("10.0.0.7", 8468))
    assert message == CONTACT_DOMAIN + NONCE + ME.node_id_bytes + CHALLENGER + b"\x0810.0.0.7" + b"\x21\x14"


def test_an_honest_answer_proves_the_id_at_the_address_asked() -> None:
    proven = check(answer())
    assert proven == ProvenContact(ME.node_id_bytes, ME.public_key_hex, ASKED, math.inf)


def test_an_empty_signed_host_is_the_host_asked() -> None:
    assert check(answer(Contact("", 8468))).where == ASKED
    assert check(answer(Contact("", 9000))).where == ("10.0.0.7", 9000)


def test_a_contact_signed_elsewhere_says_where() -> None:
    assert check(answer(Contact("10.0.0.8", 8468))).where == ("10.0.0.8", 8468)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"claimed_id": os.urandom(20)}, "does not hash"),  # another id than the key's
        ({"nonce": os.urandom(NONCE_BYTES)}, "bad signature"),  # an answer to another challenge
        ({"challenger_id": os.urandom(20)}, "bad signature"),  # an answer made for another challenger
    ],
)
def test_answers_that_prove_nothing_are_refused(change: dict[str, Any], why: str) -> None:
    with pytest.raises(ContactProofError, match=why):
        check(answer(), **change)


def test_a_changed_contact_or_signature_is_refused() -> None:
    moved = answer()
    moved[2] = "10.0.0.9"  # the contact it signed was another
    with pytest.raises(ContactProofError, match="bad signature"):
        check(moved)
    forged = answer()
    forged[1] = bytes(64)
    with pytest.raises(ContactProofError, match="bad signature"):
        check(forged)
    other = NodeIdentity.generate()  # a valid proof by another key, claiming our id
    with pytest.raises(ContactProofError, match="does not hash"):
        check(answer_challenge(other, NONCE, CHALLENGER, Contact("10.0.0.7", 8468), None))


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "x",
        [],
        [b"k", b"s", "h", 1],
        [b"k" * 32, b"s" * 63, "h", 1, None],
        [b"k" * 32, b"s" * 64, 7, 1, None],
    ],
)
def test_malformed_answers_are_refused(bad: Any) -> None:
    with pytest.raises(ContactProofError, match="malformed"):
        check(bad)


def test_an_unusable_signed_contact_is_refused() -> None:
    with pytest.raises(ContactProofError, match="unusable"):
        check(answer(Contact("169.254.169.254", 80)))


def cert(issuer: NodeIdentity, subject: str, role: str = "node", **kw: Any) -> dict[str, Any]:
    return issue_certificate(
        issuer,
        subject=subject,
        role=role,
        not_before=NOW - 10,
        not_after=NOW + 100,
        **kw,  # type: ignore[arg-type]
    )


def test_with_an_authority_the_chain_must_hold() -> None:
    roots = frozenset({ROOT.public_key_hex})
    chain = [cert(ROOT, ME.public_key_hex)]
    proven = check(answer(chain=chain), authorities=roots, now=NOW, clock_skew_s=5)
    assert proven.until == NOW + 100 + 5
    with pytest.raises(ContactProofError, match="not a certified member: no certificate chain"):
        check(answer(), authorities=roots, now=NOW)
    with pytest.raises(ContactProofError, match="expired"):
        check(answer(chain=chain), authorities=roots, now=NOW + 200)
    with pytest.raises(ContactProofError, match="not a trusted swarm authority"):
        check(answer(chain=[cert(SITE, ME.public_key_hex)]), authorities=roots, now=NOW)
    with pytest.raises(ContactProofError, match="another key"):
        check(answer(chain=[cert(ROOT, SITE.public_key_hex)]), authorities=roots, now=NOW)


def test_the_cache_holds_a_proof_per_id_at_its_address_until_it_ends() -> None:
    cache = ProvenContacts(max_entries=2)
    a, b, c = (ProvenContact(bytes([i]) * 20, "k", ("10.0.0.1", 1000 + i), until=50.0 * i) for i in (1, 2, 3))
    cache.add(a)
    assert cache.get(a.node_id, a.where, 0) == a
    assert cache.get(a.node_id, ("10.0.0.1", 9), 0) is None, "proved at another address"
    assert cache.get(a.node_id, a.where, 50) is None, "ended"
    cache.add(b)
    cache.get(a.node_id, a.where, 0)  # a used last: b goes first
    cache.add(c)
    assert len(cache) == 2 and cache.get(b.node_id, b.where, 0) is None
    assert cache.expired(60) == [a] and len(cache) == 1


def frame_bytes(payload: Any) -> int:
    rpc = b"\x01" + os.urandom(20) + umsgpack.packb(payload)
    return len(encode_frame(rpc, secret=b"s" * 32, client=False, contact=Contact("203.0.113.200", 30001)))


def delegated_chain(models: list[str]) -> list[dict[str, Any]]:
    delegation = cert(ROOT, SITE.public_key_hex, role="authority", models=models, sites=["site-a"])
    return [cert(SITE, ME.public_key_hex, models=models, sites=["site-a"]), delegation]


def record_bytes(chain: list[dict[str, Any]], models: list[str]) -> int:
    fields = RecordFields(urls=["http://203.0.113.200:8000"], models=models, site="site-a", cert=chain)
    record = build_record(fields, ME, dht_host="203.0.113.200", dht_port=30001, seq=1, expires_at=NOW)
    return len(record.to_json())


def test_proof_answers_fit_the_amplification_budget() -> None:
    contact = Contact("203.0.113.200", 30001)
    budget = AMPLIFICATION * REQUEST_PAD_BYTES  # what a node may send a challenger that has not proved
    # measured: 209 bytes without a chain, 555 with one certificate, 938 with a delegation
    assert frame_bytes(answer_challenge(ME, NONCE, CHALLENGER, contact, None)) < 250
    assert frame_bytes(answer_challenge(ME, NONCE, CHALLENGER, contact, delegated_chain(["m"]))) < 1000
    # the chain travels in every record too, so the record limit bounds it: the biggest chain that fits
    # a record still gives an answer well within the budget
    models, more = ["m"], "model-" + "q" * 30
    while record_bytes(delegated_chain([*models, more]), [*models, more]) <= RecordLimits().max_record_bytes:
        models.append(more)
    size = frame_bytes(answer_challenge(ME, NONCE, CHALLENGER, contact, delegated_chain(models)))
    assert 1200 < size <= budget - 2000, size  # measured: 1304 bytes (a record of 2048 at most)
