from __future__ import annotations

from typing import Any

import pytest

from llamanet_operator.names import Owner

SHA = "ab" * 32


@pytest.fixture
def owner() -> Owner:
    return Owner("smollm", "demo", "uid-1")


def url_spec(**extra: Any) -> dict[str, Any]:
    return {
        "model": {"name": "smollm2-135m", "source": {"url": "https://example.org/m.gguf", "sha256": SHA}},
        **extra,
    }


def pvc_spec(**extra: Any) -> dict[str, Any]:
    return {
        "model": {"name": "gemma", "source": {"pvc": {"claimName": "models", "path": "g/g.gguf"}}},
        **extra,
    }
