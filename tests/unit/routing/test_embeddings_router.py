"""Embedding requests go only to nodes whose records say they serve embeddings (``--embeddings``)."""

import httpx
import pytest

from llamanet.routing.decision import Forward, ServeHere
from llamanet.routing.errors import EmbeddingsUnavailableError, UnknownModelError
from llamanet_common.record import EMBEDDINGS
from tests.peerkeys import record
from tests.unit.routing.test_router import Peers, router


async def test_an_embedding_request_is_forwarded_only_to_nodes_that_serve_embeddings() -> None:
    records = [record("a"), record("b", capabilities=[EMBEDDINGS]), record("c")]
    r = router(records, httpx.MockTransport(Peers()), free=4)
    decision = await r.decide("m", hops=0, embeddings=True)
    assert isinstance(decision, Forward) and [v.url for v in decision.candidates] == ["http://b"]
    generation = await r.decide("m", hops=0)  # a generation request goes by load to any of them
    assert isinstance(generation, Forward) and len(generation.candidates) == 3


async def test_this_nodes_model_without_embeddings_goes_to_a_peer_that_has_them() -> None:
    records = [record("a", model="local", capabilities=[EMBEDDINGS])]
    r = router(records, httpx.MockTransport(Peers()), free=4)
    assert await r.decide("local", hops=0) == ServeHere("local")  # a free slot: generation stays here
    decision = await r.decide("local", hops=0, embeddings=True)
    assert isinstance(decision, Forward) and [v.url for v in decision.candidates] == ["http://a"]
    assert not decision.local_fallback


async def test_a_node_with_embeddings_serves_them_even_with_every_slot_busy() -> None:
    records = [record("a", model="local", capabilities=[EMBEDDINGS])]
    r = router(records, httpx.MockTransport(Peers()), free=0, local_embeddings=True)
    assert await r.decide("local", hops=0, embeddings=True) == ServeHere("local")


async def test_no_node_with_embeddings_is_a_clear_error_and_an_unknown_model_stays_a_404() -> None:
    r = router([record("a")], httpx.MockTransport(Peers()), free=4)
    with pytest.raises(EmbeddingsUnavailableError, match="this node was started without --embeddings"):
        await r.decide("local", hops=0, embeddings=True)
    with pytest.raises(EmbeddingsUnavailableError, match="no node serving 'm'") as other:
        await r.decide("m", hops=0, embeddings=True)
    assert "this node" not in str(other.value)
    with pytest.raises(UnknownModelError):
        await r.decide("nope", hops=0, embeddings=True)
