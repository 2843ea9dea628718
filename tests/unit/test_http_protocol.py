from llamanet.http_protocol import ConnectionLimits


def test_connection_caps() -> None:
    limits = ConnectionLimits(max_total=3, max_per_client=2)
    limits.open_total, limits.open_by_client["a"] = 3, 3
    assert "max_connections_per_client" in (limits.over("a") or "")
    assert limits.over("b") is None
    limits.open_total = 4
    assert "max_connections" in (limits.over("b") or "")
