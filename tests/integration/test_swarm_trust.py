"""Swarm trust against real hostile processes: two real nodes with their own API keys and one swarm
secret, a fake upstream HTTP server (tests/fakeupstream.py) advertised in their DHT by a key it does
not hold, a forging DHT member that signs records with URLs no record may carry, and a member that
sends forward proofs of its own (valid, replayed, forged).

- Forwarding between the keyed members works: the entry checks its user's key and forwards with its
  own proof (the other node has another key: the user's key would be refused there).
- The impostor's URL never gets the user's key nor user traffic (it cannot prove the record's key),
  from the node's router or from the client library.
- Records with ``gopher:``, ``javascript:`` or path-carrying URLs are refused by the storing peers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from llamanet.client import Client
from llamanet.client.errors import NoNodeAvailableError
from llamanet.swarm.node import SwarmNode
from llamanet_common.identity import NodeIdentity
from llamanet_common.proofs import ForwardSigner
from llamanet_common.record import NodeRecord, RecordFields
from tests.fakeupstream import FakeUpstream
from tests.integration.conftest import SMOL, Nodes
from tests.swarmrecords import HOST, eventually, fast_config

pytestmark = [pytest.mark.model, pytest.mark.slow]
SECRET = "trust-test-secret"
ENTRY_KEY, REAL_KEY = "entry-users-key", "real-users-key"
ENTRY_MODEL = "entry-model"  # the entry serves SmolLM2 under another name: SMOL requests are forwarded
ARGS = ("--n-ctx", "512", "--n-parallel", "2", "--heartbeat-interval", "1", "--swarm-secret", SECRET)
CONFIG = replace(fast_config(), secret=SECRET.encode())
CHAT = {"messages": [{"role": "user", "content": "Name a colour."}], "max_tokens": 4, "temperature": 0}


@pytest.fixture(scope="module")
def pair(node_logs: Path, model_cache: object, request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    nodes = Nodes(node_logs)
    failed_before = request.session.testsfailed
    entry = nodes.start(SMOL, *ARGS, "--model-name", ENTRY_MODEL, "--api-key", ENTRY_KEY, name="trust-entry")
    boot = ("--bootstrap-nodes", f"127.0.0.1:{entry.dht_port}")
    real = nodes.start(SMOL, *ARGS, *boot, "--api-key", REAL_KEY, name="trust-real")
    auth = {"authorization": f"Bearer {REAL_KEY}"}
    yield {
        "entry": entry.url,
        "entry_dht": f"{HOST}:{entry.dht_port}",
        "real": real.url,
        "real_id": httpx.get(f"{real.url}/status", headers=auth, timeout=10).json()["node_id"],
    }
    nodes.stop_all(request.session.testsfailed > failed_before)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=120, headers={"authorization": f"Bearer {ENTRY_KEY}"}) as c:
        yield c


async def serving(client: httpx.AsyncClient, entry: str, model: str) -> set[str]:
    r = await client.get(f"{entry}/v1/models")
    for m in r.json()["data"]:
        if m["id"] == model:
            return set(m["meta"]["nodes"])
    return set()


class Impostor:
    """A fake upstream advertised (serving ``model``, idle, fastest) by a swarm member whose record key
    the fake does not hold: it cannot prove its address."""

    def __init__(self, model: str, bootstrap: str) -> None:
        self.fake = FakeUpstream("hang_up")  # no identity: cannot answer the proof challenge
        self.model, self.bootstrap = model, bootstrap
        self.member: SwarmNode | None = None

    async def __aenter__(self) -> Impostor:
        await self.fake.start()
        fields = RecordFields(
            urls=[self.fake.url], models=[self.model], name="impostor", slots_total=1000, slots_free=1000
        )
        self.member = SwarmNode(NodeIdentity.generate(), CONFIG, record_factory=lambda: fields)
        await self.member.start(HOST, 0, [self.bootstrap])
        return self

    @property
    def node_id(self) -> str:
        assert self.member is not None
        return self.member.node_id

    async def __aexit__(self, *exc: object) -> None:
        if self.member is not None:
            await self.member.stop(withdraw=True)
        await self.fake.stop()


def assert_no_credential_and_no_traffic(fake: FakeUpstream) -> None:
    assert fake.requests, "the impostor was never even probed: the test proves nothing"
    assert all("authorization" not in headers for _, _, headers in fake.requests), fake.requests
    assert fake.posts == [], "user traffic reached a URL that never proved its record's key"


async def test_forwarding_between_members_with_their_own_api_keys_works(
    pair: dict[str, str], client: httpx.AsyncClient
) -> None:
    async def known() -> bool:
        return pair["real_id"] in await serving(client, pair["entry"], SMOL)

    await eventually(known, timeout=60)  # liveness bound for a loaded machine
    r = await client.post(f"{pair['entry']}/v1/chat/completions", json={**CHAT, "model": SMOL})
    assert r.status_code == 200, r.text
    assert r.headers["x-llamanet-node"] == pair["real_id"]
    assert r.json()["choices"][0]["message"]["content"]


async def test_an_unproven_url_gets_neither_the_users_key_nor_user_traffic(
    pair: dict[str, str], client: httpx.AsyncClient
) -> None:
    async with Impostor(SMOL, pair["entry_dht"]) as bad:
        want = {bad.node_id, pair["real_id"]}

        async def both_known() -> bool:
            return await serving(client, pair["entry"], SMOL) >= want

        await eventually(both_known, timeout=60)
        for i in range(4):
            r = await client.post(
                f"{pair['entry']}/v1/completions", json={"model": SMOL, "prompt": f"{i},", "max_tokens": 2}
            )
            assert r.status_code == 200, r.text
            assert r.headers["x-llamanet-node"] == pair["real_id"]
    assert_no_credential_and_no_traffic(bad.fake)


async def test_the_client_never_sends_its_key_to_a_forged_url(pair: dict[str, str]) -> None:
    client = Client(pair["entry_dht"], api_key=ENTRY_KEY, swarm_config=CONFIG, cache_ttl=3.0)
    async with Impostor("forged-model", pair["entry_dht"]) as bad, client as c:

        async def listed() -> bool:
            forged = any(n.node_id == bad.node_id for n in await c.get_nodes("forged-model"))
            return forged and bool(await c.get_nodes(ENTRY_MODEL))

        await eventually(listed, timeout=60)  # both now in the client's lookup cache (cache_ttl)
        # a node that proved its record's key gets the key, and answers (asked first: a failed call
        # drops the client's lookup cache, and a fresh lookup right after joining can come back short)
        answer = await c.chat(CHAT["messages"], model=ENTRY_MODEL, max_tokens=2)  # type: ignore[arg-type]
        assert answer.text is not None
        with pytest.raises(NoNodeAvailableError):
            await c.chat(CHAT["messages"], model="forged-model", max_tokens=2)  # type: ignore[arg-type]
    assert bad.fake.requests and all("authorization" not in h for _, _, h in bad.fake.requests)
    assert bad.fake.posts == []


class Forger(SwarmNode):
    """A swarm member (it holds the secret) that signs records with URLs no valid record carries."""

    def __init__(self, urls: list[str], model: str) -> None:
        fields = RecordFields(urls=["http://127.0.0.1:9"], models=[model], slots_total=8, slots_free=8)
        super().__init__(NodeIdentity.generate(), CONFIG, record_factory=lambda: fields)
        self.forged_urls = urls

    def _build(self, fields: RecordFields, *, withdrawn: bool) -> NodeRecord:
        good = super()._build(fields, withdrawn=withdrawn)
        forged = NodeRecord.model_construct(**{**good.model_dump(), "urls": self.forged_urls})
        return forged.model_copy(update={"signature": self.identity.sign(forged.canonical_bytes())})


@pytest.mark.parametrize(
    "url",
    ["gopher://127.0.0.1:70", "javascript:alert(1)", "http://127.0.0.1:9/internal/secret-endpoint?x="],
)
async def test_a_record_with_a_bad_url_is_refused(
    pair: dict[str, str], client: httpx.AsyncClient, url: str
) -> None:
    forger = Forger([url], "forged-url-model")
    control = SwarmNode(
        NodeIdentity.generate(),
        CONFIG,
        record_factory=lambda: RecordFields(urls=["http://127.0.0.1:9"], models=["control-model"]),
    )
    await forger.start(HOST, 0, [pair["entry_dht"]])
    try:
        await asyncio.sleep(1.5)  # the forger published first (and once more)
        await control.start(HOST, 0, [pair["entry_dht"]])

        async def control_known() -> bool:
            return bool(await serving(client, pair["entry"], "control-model"))

        await eventually(control_known, timeout=60)
        assert not await serving(client, pair["entry"], "forged-url-model")
        listed = (await client.get(f"{pair['entry']}/swarm/nodes")).json()["nodes"]
        assert forger.node_id not in {n["node_id"] for n in listed}
    finally:
        await control.stop(withdraw=True)
        await forger.stop(withdraw=False)  # its tombstone would need a valid record


async def test_a_members_forward_proof_is_accepted_once_and_a_replay_or_forgery_is_refused(
    pair: dict[str, str],
) -> None:
    member = ForwardSigner(NodeIdentity.generate(), SECRET.encode())
    outsider = ForwardSigner(NodeIdentity.generate(), b"not-the-secret")
    body = b'{"model": "%s", "prompt": "1,", "max_tokens": 2}' % SMOL.encode()
    path = "/v1/completions"

    def signed(signer: ForwardSigner, target: str = pair["real_id"]) -> dict[str, str]:
        proof = signer.headers("POST", path, body, target, 1)
        return {**proof, "x-llamanet-hops": "1", "content-type": "application/json"}

    async with httpx.AsyncClient(timeout=120) as http:  # no user key: the proof stands in for it
        url = pair["real"] + path
        good = signed(member)
        first = await http.post(url, content=body, headers=good)
        assert first.status_code == 200, first.text
        replayed = await http.post(url, content=body, headers=good)
        assert replayed.status_code == 401 and "replayed" in replayed.json()["error"]["message"]
        forged = await http.post(url, content=body.replace(b"1,", b"2,"), headers=signed(member))
        assert forged.status_code == 401 and "body" in forged.json()["error"]["message"]
        for headers in (signed(outsider), signed(member, target="0" * 40)):
            r = await http.post(url, content=body, headers=headers)
            assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_forward_proof", r.text
        stale = ForwardSigner(member.identity, member.secret, clock=lambda: time.time() - 300)
        r = await http.post(url, content=body, headers=signed(stale))
        assert r.status_code == 401 and "window" in r.json()["error"]["message"]


async def test_a_keyed_node_without_a_secret_refuses_forwarded_work_and_says_so(nodes: Nodes) -> None:
    lone = nodes.start(SMOL, "--n-ctx", "256", "--n-parallel", "1", "--api-key", "k", name="keyed-no-secret")
    assert "takes no forwarded work" in lone.log_tail(200)
    me = NodeIdentity.generate()
    auth = {"authorization": "Bearer k"}
    target = httpx.get(f"{lone.url}/status", headers=auth, timeout=10).json()["node_id"]
    proof = ForwardSigner(me).headers("GET", "/status", b"", target, 0)  # a valid proof, but no membership
    r = httpx.get(f"{lone.url}/status", headers=proof, timeout=10)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forwarding_refused"
