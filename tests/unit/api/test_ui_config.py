"""``--ui-store-history``: flag, environment and default, and what the page reads at ``/ui/config``."""

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from llamanet.api.app import create_app
from llamanet.cli.main import build_parser, settings_from
from llamanet.node import Node
from llamanet.settings import Settings


def client(**settings: object) -> TestClient:
    node = Node(settings=Settings(**settings), node_id="n1", model_name="m")  # type: ignore[arg-type]
    return TestClient(create_app(node))


def test_store_history_defaults_on_and_takes_flag_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().ui_store_history is True
    assert (
        settings_from(build_parser().parse_args(["node", "--ui-store-history", "off"])).ui_store_history
        is False
    )
    assert (
        settings_from(build_parser().parse_args(["node", "--ui-store-history", "on"])).ui_store_history
        is True
    )
    monkeypatch.setenv("UI_STORE_HISTORY", "off")
    assert Settings().ui_store_history is False
    with pytest.raises(ValidationError):
        Settings(ui_store_history="sometimes")  # type: ignore[arg-type]


def test_the_page_reads_the_setting_without_the_api_key() -> None:
    for value in (True, False):
        c = client(ui_store_history=value, api_key="k")
        r = c.get("/ui/config")  # open like the page itself: it asks for the key later
        assert r.status_code == 200 and r.json() == {"store_history": value}
        assert r.headers["cache-control"] == "no-store"  # an operator's change reaches the next load
        assert c.get("/info").status_code == 401
        info = c.get("/info", headers={"Authorization": "Bearer k"}).json()
        assert info["ui_store_history"] is value
