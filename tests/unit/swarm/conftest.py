"""Shared helpers for the swarm unit tests: signed records built with real keys."""

from __future__ import annotations

import pytest

from llamanet_common.identity import NodeIdentity
from llamanet_common.record import NodeRecord, RecordFields, build_record

NOW = 1_000_000.0


def make_record(
    identity: NodeIdentity,
    *,
    seq: int = 1,
    ttl: float = 30.0,
    models: tuple[str, ...] = ("tiny",),
    withdrawn: bool = False,
    now: float = NOW,
) -> NodeRecord:
    fields = RecordFields(
        urls=["http://10.0.0.1:8000"], models=list(models), context_size=4096, slots_total=4
    )
    return build_record(
        fields,
        identity,
        dht_host="10.0.0.1",
        dht_port=8468,
        seq=seq,
        expires_at=now + ttl,
        withdrawn=withdrawn,
    )


@pytest.fixture
def identity() -> NodeIdentity:
    return NodeIdentity.generate()
