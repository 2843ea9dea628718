"""The pure node-to-node proofs: forward header (signature, target, window, body, MAC), replay cache,
proof of address."""

from __future__ import annotations

import pytest

from llamanet_common.identity import NodeIdentity
from llamanet_common.proofs import (
    ProofError,
    ReplayCache,
    new_challenge,
    sign_address,
    sign_forward,
    verify_address,
    verify_forward,
)

SENDER, TARGET, OTHER = NodeIdentity.generate(), NodeIdentity.generate(), NodeIdentity.generate()
BODY = b'{"model":"m","prompt":"hi"}'
NOW = 1_800_000_000.0
SECRET = b"swarm-secret"


def header(secret: bytes | None = SECRET, **over: object) -> str:
    args: dict[str, object] = {
        "method": "POST", "path": "/v1/completions", "body": BODY, "target_id": TARGET.node_id,
        "hops": 1, "now_s": NOW, "secret": secret, **over,
    }  # fmt: skip
    return sign_forward(SENDER, **args).header()  # type: ignore[arg-type]


def verify(h: str, secret: bytes | None = SECRET, **over: object) -> object:
    args: dict[str, object] = {
        "method": "POST", "path": "/v1/completions", "body": BODY, "self_id": TARGET.node_id,
        "now_s": NOW + 1, "secret": secret, **over,
    }  # fmt: skip
    return verify_forward(h, **args)  # type: ignore[arg-type]


def test_a_good_proof_verifies_and_names_its_sender() -> None:
    proof = verify(header())
    assert proof.sender_id == SENDER.node_id and proof.hops == 1  # type: ignore[attr-defined]


def test_without_a_secret_only_the_signature_is_needed() -> None:
    assert verify(header(secret=None), secret=None)


@pytest.mark.parametrize(
    ("over", "why"),
    [
        ({"method": "GET"}, "signature"),
        ({"path": "/v1/chat/completions"}, "signature"),
        ({"path": "/v1/completions?x=1"}, "signature"),
        ({"body": BODY + b" "}, "body"),
        ({"self_id": OTHER.node_id}, "another node"),
        ({"now_s": NOW + 31}, "window"),
        ({"now_s": NOW - 31}, "window"),
        ({"secret": b"another-secret"}, "secret"),
    ],
)
def test_a_proof_for_anything_else_is_refused(over: dict[str, object], why: str) -> None:
    with pytest.raises(ProofError, match=why):
        verify(header(), **over)


def test_the_allowed_sites_header_is_signed_so_no_hop_can_widen_it() -> None:
    signed = header(sites="clinic-a")
    assert verify(signed, sites="clinic-a")
    for widened in ("", "clinic-a,clinic-b", "*"):  # dropped, widened, or opened to every site
        with pytest.raises(ProofError, match="signature"):
            verify(signed, sites=widened)
    with pytest.raises(ProofError, match="signature"):
        verify(header(), sites="clinic-a")  # nor may one be added to an unrestricted request


def test_a_proof_without_the_mac_is_refused_by_a_node_with_a_secret() -> None:
    with pytest.raises(ProofError, match="secret"):
        verify(header(secret=None))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda h: h.replace("hops=1", "hops=0"),  # a hop count lowered in transit
        lambda h: h.replace(f"key={SENDER.public_key_hex}", f"key={OTHER.public_key_hex}"),  # another sender
        lambda h: h.replace("v=2", "v=3"),
        lambda h: h + ", sig=00",  # duplicate field
        lambda h: h.replace("nonce=", "nonce=zz"),
        lambda h: "garbage",
        lambda h: h + ", pad=" + "x" * 2000,
    ],
)
def test_a_forged_or_garbled_header_is_refused(mangle: object) -> None:
    with pytest.raises(ProofError):
        verify(mangle(header()))  # type: ignore[operator]


def test_a_forged_signature_by_another_key_is_refused() -> None:
    forged = sign_forward(
        OTHER, method="POST", path="/v1/completions", body=BODY, target_id=TARGET.node_id, hops=1,
        now_s=NOW, secret=SECRET,
    ).header()  # fmt: skip
    good_sig = header().split("sig=")[1].split(",")[0]
    with pytest.raises(ProofError, match="signature"):
        verify(forged.replace(forged.split("sig=")[1].split(",")[0], good_sig))


def test_the_replay_cache_refuses_a_repeat_and_forgets_after_the_window() -> None:
    cache = ReplayCache(window_s=30)
    assert cache.check_and_add("a", "n1", NOW)
    assert not cache.check_and_add("a", "n1", NOW + 1)
    assert cache.check_and_add("b", "n1", NOW + 1)  # nonces are per sender
    assert cache.check_and_add("a", "n1", NOW + 62)  # past 2x the window: its proof's ts is stale anyway
    assert len(cache) == 1


def test_the_replay_cache_is_bounded_and_fails_closed_when_full() -> None:
    cache = ReplayCache(window_s=30, max_entries=2)
    assert cache.check_and_add("a", "1", NOW) and cache.check_and_add("a", "2", NOW)
    assert not cache.check_and_add("a", "3", NOW)  # full of live nonces: refuse, forget none
    assert not cache.check_and_add("a", "1", NOW)
    assert cache.check_and_add("a", "3", NOW + 61)


def test_an_address_proof_verifies_against_the_records_key_only() -> None:
    challenge, url = new_challenge(), "http://10.0.0.5:8000"
    answer = sign_address(TARGET, url, challenge)
    verify_address(
        answer, url=url, challenge=challenge, node_id=TARGET.node_id, public_key=TARGET.public_key_hex
    )
    for bad in (
        {"url": "http://10.0.0.6:8000"},  # signed for another URL
        {"challenge": new_challenge()},  # an old answer replayed
        {"public_key": OTHER.public_key_hex},  # a record of another key claiming this URL
    ):
        args = {
            "url": url,
            "challenge": challenge,
            "node_id": TARGET.node_id,
            "public_key": TARGET.public_key_hex,
        }
        with pytest.raises(ProofError):
            verify_address(answer, **{**args, **bad})
    for junk in ("html", None, [1], {"node_id": TARGET.node_id}, {"node_id": TARGET.node_id, "sig": "zz"}):
        with pytest.raises(ProofError):
            verify_address(
                junk, url=url, challenge=challenge, node_id=TARGET.node_id, public_key=TARGET.public_key_hex
            )
