from pathlib import Path

import pytest

from llamanet.settings import Settings


def test_seed_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "MODEL_PATH": "/m.gguf",
        "HOST": "127.0.0.1",
        "PORT": "9000",
        "DHT_PORT": "9001",
        "NODE_ID": "n1",
        "BOOTSTRAP_NODES": "a:1, b:2",
        "HEARTBEAT_INTERVAL": "5",
        "N_CTX": "1024",
        "N_BATCH": "64",
        "N_GPU_LAYERS": "10",
        "LOG_LEVEL": "debug",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    s = Settings()
    assert s.model_path == Path("/m.gguf") and s.host == "127.0.0.1" and s.port == 9000
    assert s.dht_port == 9001 and s.node_id == "n1" and s.bootstrap_peers() == ["a:1", "b:2"]
    assert s.heartbeat_interval == 5 and s.n_ctx == 1024 and s.n_batch == 64 and s.n_gpu_layers == 10
    assert s.log_level == "DEBUG"


def test_init_values_beat_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9000")
    assert Settings(port=8100).port == 8100


def test_api_key_file(tmp_path: Path) -> None:
    f = tmp_path / "key"
    f.write_text("s3cret\n")
    assert Settings(api_key_file=f).resolved_api_key() == "s3cret"
    assert Settings().resolved_api_key() is None
