from llamanet.engine.stats import EngineStats, ThroughputMeter


def test_meter_rate_over_window_and_keeps_last_rate_when_idle() -> None:
    m = ThroughputMeter(window=10.0)
    for i in range(11):
        m.add(5, now=100.0 + i * 0.1)  # 50 tokens over 1 s after the first event
    assert abs(m.rate(now=101.0) - 50.0) < 1e-6
    assert m.total == 55
    assert abs(m.rate(now=500.0) - 50.0) < 1e-6


def test_load_counts_waiting_requests() -> None:
    s = EngineStats(
        slots_total=4,
        slots_busy=4,
        queue_depth=2,
        tokens_per_second=0.0,
        tokens_generated=0,
        requests_completed=0,
    )
    assert s.slots_free == 0
    assert s.load == 1.5
