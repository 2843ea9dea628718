from llamanet.routing.view import NodeView, unreachable, url_key, view_from_record, view_from_url
from llamanet_common.identity import NodeIdentity
from llamanet_common.record import RecordFields, build_record
from llamanet_common.status import parse_status


def test_a_record_becomes_a_view_with_its_first_url() -> None:
    fields = RecordFields(
        urls=["http://10.0.0.1:8000", "http://pub:8000"], models=["m"], queue_depth=2, active_requests=1,
        slots_total=4, slots_free=3, tokens_per_s=12.5, uptime_s=60, name="n1", site="lab",
    )  # fmt: skip
    record = build_record(
        fields, NodeIdentity.generate(), dht_host="10.0.0.1", dht_port=8001, seq=1, expires_at=99.0
    )
    view = view_from_record(record)
    assert view is not None
    assert (view.url, view.urls) == ("http://10.0.0.1:8000", ("http://10.0.0.1:8000", "http://pub:8000"))
    assert (view.node_id, view.name, view.site, view.models) == (record.node_id, "n1", "lab", ("m",))
    assert (view.load, view.slots_free, view.dht_address, view.expires_at) == (0.75, 3, "10.0.0.1:8001", 99.0)
    assert view.key == record.node_id and view.short_id == record.node_id[:8]
    no_url = build_record(
        RecordFields(), NodeIdentity.generate(), dht_host="h", dht_port=1, seq=1, expires_at=9
    )
    assert view_from_record(no_url) is None


def test_a_probe_describes_a_fixed_url_node_but_its_key_stays_the_url() -> None:
    view = view_from_url("http://h:1/")
    assert view.url == "http://h:1" and view.serves("anything") and view.has_room  # unknown: maybe
    fresh = view.with_status(
        parse_status(
            {"node_id": "abc", "model": "m", "status": "ready", "queue_depth": 1, "active_requests": 2,
             "slots_total": 4, "slots_free": 2, "tokens_per_second": 9.0, "uptime": 5.0, "version": "0.1"}
        )
    )  # fmt: skip
    assert (fresh.node_id, fresh.models, fresh.load, fresh.slots_free, fresh.ready) == (
        "abc",
        ("m",),
        0.75,
        2,
        True,
    )
    assert fresh.key == url_key("http://h:1") == "http://h:1"  # a claimed id is not a ban key
    assert fresh.serves("m") and not fresh.serves("other")
    assert not view.with_status(parse_status({"status": "loading"})).ready
    assert not unreachable(fresh).ready and unreachable(fresh).models == ()
    assert NodeView(url="u").short_id == "-"


def test_a_probe_keeps_what_the_signed_record_says() -> None:
    record_view = NodeView(url="http://a", node_id="a" * 40, models=("m",), slots_total=2)
    fresh = record_view.with_status(
        parse_status({"node_id": "b" * 40, "model": "other", "slots_total": 8, "slots_free": 8})
    )
    assert (fresh.node_id, fresh.models, fresh.slots_total) == ("a" * 40, ("m",), 8)
