"""Forwarded work at the HTTP edge: a member's signed proof stands in for the user's key; a forged,
replayed, misdirected or secret-less proof is a 401; a node with an API key and no secret takes none."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from llamanet.api.app import create_app
from llamanet.node import Node
from llamanet.settings import Settings
from llamanet_common.identity import NodeIdentity
from llamanet_common.proofs import FORWARD_HEADER, ForwardSigner, new_challenge, verify_address

ME, PEER = NodeIdentity.generate(), NodeIdentity.generate()
SECRET = "swarm-secret"


def client(**settings: object) -> TestClient:
    s = Settings(host="127.0.0.1", port=8123, **settings)  # type: ignore[arg-type]
    node = Node(settings=s, node_id=ME.node_id, model_name="m")
    node.identity = ME
    return TestClient(create_app(node))


def proof(
    secret: str | None = SECRET, target: str = ME.node_id, hops: int = 0, **kw: object
) -> dict[str, str]:
    signer = ForwardSigner(PEER, secret.encode() if secret else None, **kw)  # type: ignore[arg-type]
    return signer.headers("GET", "/status", b"", target, hops)


def test_a_members_probe_needs_no_user_key_and_a_replay_of_it_is_refused() -> None:
    c = client(api_key="k", swarm_secret=SECRET)
    headers = proof()
    assert c.get("/status", headers=headers).status_code == 200
    again = c.get("/status", headers=headers)
    assert again.status_code == 401 and "replayed" in again.json()["error"]["message"]
    assert c.get("/status").status_code == 401  # and nothing else gets in without the key


def test_forged_misdirected_stale_and_outsider_proofs_are_refused() -> None:
    c = client(api_key="k", swarm_secret=SECRET)
    forged = proof()
    sig = forged[FORWARD_HEADER].split("sig=")[1].split(",")[0]
    forged[FORWARD_HEADER] = forged[FORWARD_HEADER].replace(sig, "0" * 128)
    cases = {
        "signature": forged,
        "another node": proof(target=PEER.node_id),
        "window": proof(clock=lambda: time.time() - 120),
        "secret": proof(secret="another-secret"),
        "hop count": {**proof(hops=1), "x-llamanet-hops": "0"},
    }
    for why, headers in cases.items():
        r = c.get(
            "/status", headers={**headers, "authorization": "Bearer k"}
        )  # a valid user key changes nothing
        assert r.status_code == 401, why
        assert why in r.json()["error"]["message"] and r.json()["error"]["code"] == "invalid_forward_proof"


def test_a_node_with_an_api_key_and_no_secret_refuses_forwarded_work() -> None:
    r = client(api_key="k").get("/status", headers=proof(secret=None))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forwarding_refused"
    assert "swarm secret" in r.json()["error"]["message"]


def test_an_open_node_still_refuses_a_forged_proof() -> None:
    c = client()
    assert c.get("/status", headers=proof(secret=None)).status_code == 200
    assert c.get("/status", headers=proof(secret=None, target=PEER.node_id)).status_code == 401


def test_the_address_proof_is_open_and_signs_only_this_nodes_urls() -> None:
    c = client(api_key="k")
    url, challenge = "http://127.0.0.1:8123", new_challenge()
    r = c.get("/swarm/proof", params={"u": url, "c": challenge})
    assert r.status_code == 200
    verify_address(r.json(), url=url, challenge=challenge, node_id=ME.node_id, public_key=ME.public_key_hex)
    assert c.get("/swarm/proof", params={"u": "http://10.9.9.9:1", "c": challenge}).status_code == 404
    assert c.get("/swarm/proof", params={"u": url, "c": "x"}).status_code == 400


def test_the_address_proof_follows_the_published_records_urls() -> None:
    """With ADVERTISE_FILE the URLs of the record change at run time; the proof signs those."""
    from types import SimpleNamespace
    from typing import Any, cast

    from tests.peerkeys import record

    c = client()
    node = cast(Node, c.app.state.node)  # type: ignore[attr-defined]
    published = record("x", urls=["http://10.0.0.7:30901"])
    node.swarm = cast(Any, SimpleNamespace(last_record=published))
    challenge = new_challenge()
    r = c.get("/swarm/proof", params={"u": "http://10.0.0.7:30901", "c": challenge})
    assert r.status_code == 200, r.text
    verify_address(
        r.json(),
        url="http://10.0.0.7:30901",
        challenge=challenge,
        node_id=ME.node_id,
        public_key=ME.public_key_hex,
    )
    # the settings' URL is no longer what this node advertises
    assert c.get("/swarm/proof", params={"u": "http://127.0.0.1:8123", "c": challenge}).status_code == 404


def test_with_an_authority_only_certified_senders_forward_even_to_a_keyed_node_without_a_secret() -> None:
    from llamanet.routing.members import CertifiedPeers
    from llamanet_common.certs import issue_certificate
    from llamanet_common.record import NodeRecord, RecordFields, build_record

    root, stranger = NodeIdentity.generate(), NodeIdentity.generate()
    now = time.time()
    cert = issue_certificate(
        root, subject=PEER.public_key_hex, not_before=int(now) - 60, not_after=int(now) + 600
    )
    fields = RecordFields(urls=["http://10.0.0.2:8000"], models=["m"], cert=[cert])
    member = build_record(fields, PEER, dht_host="10.0.0.2", dht_port=1, seq=1, expires_at=now + 30)

    async def cached() -> list[NodeRecord]:
        return [member]

    async def fetch(node_id: str) -> None:
        return None

    c = client(api_key="k", swarm_authority=root.public_key_hex)
    node: Node = c.app.state.node  # type: ignore[attr-defined]
    before = c.get("/status", headers=proof(secret=None))
    assert before.status_code == 401 and "not joined" in before.json()["error"]["message"]
    node.members = CertifiedPeers(frozenset({root.public_key_hex}), cached, fetch)  # type: ignore[arg-type]
    assert c.get("/status", headers=proof(secret=None)).status_code == 200
    signer = ForwardSigner(stranger, None)
    r = c.get("/status", headers=signer.headers("GET", "/status", b"", ME.node_id, 0))
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_forward_proof"
    assert "not a certified member" in r.json()["error"]["message"]
    assert c.get("/status").status_code == 401  # users still need the key
