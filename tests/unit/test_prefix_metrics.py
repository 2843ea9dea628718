from llamanet.engine.events import Finished
from llamanet.engine.stats import EngineStats
from llamanet.metrics import NodeMetrics


def test_the_prefix_cache_hit_rate_is_in_metrics() -> None:
    m = NodeMetrics(lambda: EngineStats(1, 0, 0, 0.0, 0, 0))
    m.observe_finished(Finished("stop", 100, 4, 0, 0.01, 0.1))
    m.observe_finished(Finished("stop", 120, 4, 90, 0.01, 0.1))
    text = m.render().decode()
    assert "llamanet_prompt_tokens_total 220.0" in text
    assert "llamanet_prompt_cached_tokens_total 90.0" in text  # the token hit rate: 90 / 220
    assert 'llamanet_prompt_cache_requests_total{result="hit"} 1.0' in text
    assert 'llamanet_prompt_cache_requests_total{result="miss"} 1.0' in text
