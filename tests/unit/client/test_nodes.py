from llamanet.client.nodes import NodeInfo, from_record, from_url
from llamanet_common.identity import NodeIdentity
from llamanet_common.record import RecordFields, build_record


def test_record_becomes_node_info_with_its_first_url() -> None:
    fields = RecordFields(
        urls=["http://10.0.0.1:8000/", "http://pub:8000"], models=["m"], queue_depth=2, active_requests=1,
        slots_total=4, slots_free=3, tokens_per_s=12.5, uptime_s=60, name="n1", site="lab",
    )  # fmt: skip
    record = build_record(
        fields, NodeIdentity.generate(), dht_host="10.0.0.1", dht_port=8001, seq=1, expires_at=99.0
    )
    info = from_record(record)
    assert info is not None
    assert (info.url, info.urls) == ("http://10.0.0.1:8000", ("http://10.0.0.1:8000", "http://pub:8000"))
    assert (info.node_id, info.name, info.site, info.models) == (record.node_id, "n1", "lab", ("m",))
    assert (info.load, info.slots_free, info.dht_address, info.expires_at) == (3, 3, "10.0.0.1:8001", 99.0)
    assert info.short_id == record.node_id[:8]
    no_url = build_record(
        RecordFields(), NodeIdentity.generate(), dht_host="h", dht_port=1, seq=1, expires_at=9
    )
    assert from_record(no_url) is None


def test_status_probe_updates_a_static_node() -> None:
    info = from_url("http://h:1/")
    assert info.url == "http://h:1" and info.serves("anything")  # models unknown: maybe
    fresh = info.with_status(
        {"node_id": "abc", "model": "m", "status": "ready", "queue_depth": 1, "active_requests": 2,
         "slots_total": 4, "slots_free": 2, "tokens_per_second": 9.0, "uptime": 5.0, "version": "0.1"}
    )  # fmt: skip
    assert (fresh.node_id, fresh.models, fresh.load, fresh.slots_free, fresh.ready) == (
        "abc",
        ("m",),
        3,
        2,
        True,
    )
    assert fresh.serves("m") and not fresh.serves("other")
    assert not info.with_status({"status": "loading"}).ready
    assert NodeInfo(url="u").short_id == "-"
