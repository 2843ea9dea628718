import random
from typing import Any

from llamanet.routing.bans import BanList
from llamanet.routing.candidates import plan
from llamanet.routing.errors import ProbeFailedError
from llamanet.routing.view import NodeView

GOOD = {"status": "ready", "slots_total": 4, "slots_free": 4}


def node(key: str) -> NodeView:
    return NodeView(url=f"http://{key}", node_id=key, models=("m",), slots_total=4, slots_free=4)


def fetcher(answers: dict[str, Any]) -> Any:
    async def fetch(view: NodeView) -> Any:
        answer = answers[view.key]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return fetch


async def test_bad_status_answers_ban_the_node_and_never_raise() -> None:
    bad = {
        "zero": {"status": "ready", "slots_total": 0, "slots_free": 0},
        "strings": {"status": "ready", "slots_total": "4", "slots_free": 4},
        "list": [1, 2],
        "down": ProbeFailedError("ConnectError"),
        "loading": {"status": "loading", "slots_total": 4},
    }
    for key, answer in bad.items():
        bans = BanList()
        result = await plan(
            [node(key), node("ok")],
            "m",
            fetch=fetcher({key: answer, "ok": GOOD}),
            bans=bans,
            now=0.0,
            rng=random.Random(0),
        )
        assert [v.key for v in result.order] == ["ok"], key
        assert [v.key for v, _ in result.failures] == [key]
        assert bans.is_banned(key, 0.5) and not bans.is_banned("ok", 0.5)


async def test_one_candidate_is_not_probed_and_banned_ones_are_set_apart() -> None:
    async def never(_: NodeView) -> Any:
        raise AssertionError("a single candidate leaves nothing to choose")

    bans = BanList()
    bans.fail("b", now=0.0)
    result = await plan([node("a"), node("b")], "m", fetch=never, bans=bans, now=0.5, rng=random.Random(0))
    assert [v.key for v in result.order] == ["a"] and [v.key for v in result.banned] == ["b"]
    alone = await plan(
        [node("a")], "m", fetch=fetcher({"a": ProbeFailedError("401")}), bans=bans, now=0.5,
        rng=random.Random(0), probe_alone=True,
    )  # fmt: skip
    assert alone.order == [] and [why for _, why in alone.failures] == ["401"]


async def test_probes_replace_the_record_state() -> None:
    answers = {
        "a": {**GOOD, "slots_free": 0, "active_requests": 4},
        "b": {**GOOD, "active_requests": 1, "slots_free": 3},
    }
    result = await plan(
        [node("a"), node("b")], "m", fetch=fetcher(answers), bans=BanList(), now=0, rng=random.Random(3)
    )
    assert [(v.key, v.active_requests) for v in result.order] == [("b", 1), ("a", 4)]
