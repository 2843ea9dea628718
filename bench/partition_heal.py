"""Partition and heal between two sites behind a real NAT: how each site serves while cut off, and how
long the swarm takes to re-merge, in seconds and heartbeats (issue 15 item 4).

The lab of ``tests/integration/test_partition.py`` (``tests.partitionlab``; network namespaces, veth and
iptables: run as root): site A outside, node A (SmolLM2); site B behind a masquerading NAT, nodes B and S
(Gemma 3). Each round, once both sites list all nodes:

1. the link is cut (iptables DROP in the router's namespace);
2. at once, while site B's records still live at A, A is asked for site B's model (status, seconds);
3. the link stays cut until site B's records expired at A (A's ``/swarm/nodes`` lists neither B nor S,
   and its model list lacks Gemma); meanwhile each site is asked for its own model every heartbeat
   (A from outside, B from inside its site): every answer must be a 200;
4. A is asked for site B's model again (status, seconds);
5. the link is restored; measured: seconds until both sites list all nodes (A lists B and S, B and S
   list A; each polled by a thread of its own), and that in heartbeats (the goal: 3); then until a chat
   each way is answered across (``routed_s``, JSON only: it includes two generations).

    sudo PYTHONPATH=common:node:operator python bench/partition_heal.py --heartbeat 10 --rounds 2

Prints a markdown table and the JSON of every round (``--json PATH`` writes it to a file too).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.integration.test_nat import chat
from tests.netlab import NOT_ROOT, missing_tools
from tests.partitionlab import (
    GEMMA,
    SMOL,
    Sites,
    cut,
    heal,
    make_sites,
    open_lab,
    served_by,
    served_inside,
    site_b_gone,
    wait_merged,
)

GOAL_BEATS = 3


@dataclass
class Round:
    round: int
    heartbeat_s: float
    cut_at: str  # wall clock (UTC), to read the node logs by
    healed_at: str
    cut_off_status: int  # A asked for site B's model right after the cut (B's records still live)
    cut_off_code: str
    cut_off_s: float
    expired_after_s: float  # from the cut until site B's records expired at A
    expired_status: int  # A asked for site B's model once they had
    expired_code: str
    expired_s: float
    own_requests: int  # each site asked for its own model while cut off
    own_errors: int
    heal_s: float | None  # from the restore until both sites list all nodes
    heal_beats: float | None
    views_s: dict[str, float]  # when each site's view first listed the other site's nodes
    # from the restore until a chat each way was answered across (two generations on a busy machine)
    routed_s: float | None


def ask_other_site(sites: Sites) -> tuple[int, str, float]:
    started = time.monotonic()
    answer = chat(sites.a, GEMMA)
    took = time.monotonic() - started
    try:
        code = str(answer.json().get("error", {}).get("code", ""))
    except ValueError:
        code = "(not JSON)"
    return answer.status_code, code, took


def own_site_ok(sites: Sites, a_id: str) -> tuple[int, int]:
    """One request for each site's own model: (requests, errors)."""
    own = chat(sites.a, SMOL)
    errors = int(own.status_code != 200 or own.headers.get("x-llamanet-node", a_id) != a_id)
    errors += int(not served_inside(sites.lab, GEMMA))
    return 2, errors


def wait_until(predicate: Callable[[], bool], since: float, timeout_s: float) -> float | None:
    """Seconds from ``since`` until ``predicate`` held, or None if it did not within ``timeout_s``."""
    while time.monotonic() - since < timeout_s:
        if predicate():
            return time.monotonic() - since
        time.sleep(0.3)
    return None


def first_true(predicate: Callable[[], bool], since: float, stop: threading.Event) -> dict[str, float]:
    """Poll ``predicate`` in a thread of its own until it holds or ``stop`` is set; the dict gets
    ``"s"``: the seconds from ``since`` until it held."""
    found: dict[str, float] = {}

    def poll() -> None:
        while not stop.is_set():
            try:
                if predicate():
                    found["s"] = time.monotonic() - since
                    return
            except (httpx.HTTPError, ValueError):
                pass
            stop.wait(0.3)

    threading.Thread(target=poll, daemon=True).start()
    return found


def run_round(sites: Sites, n: int) -> Round:
    a_id, site_b = sites.ids()
    hb = sites.heartbeat_s
    cut(sites.lab)
    cut_at, cut_wall = time.monotonic(), time.strftime("%H:%M:%S", time.gmtime())
    try:
        cut_status, cut_code, cut_s = ask_other_site(sites)
        stop = threading.Event()
        gone = first_true(lambda: site_b_gone(sites, site_b), cut_at, stop)
        requests = errors = 0
        deadline = cut_at + 6 * hb + 180
        while "s" not in gone:  # each site asked for its own model about once a heartbeat
            if time.monotonic() > deadline:
                stop.set()
                raise SystemExit(f"round {n}: site B's records never expired at A")
            beat = time.monotonic()
            done, failed = own_site_ok(sites, a_id)
            requests, errors = requests + done, errors + failed
            time.sleep(max(0.0, hb - (time.monotonic() - beat)))
        done, failed = own_site_ok(sites, a_id)
        requests, errors = requests + done, errors + failed
        exp_status, exp_code, exp_s = ask_other_site(sites)
    finally:
        heal(sites.lab)
    healed_at, heal_wall = time.monotonic(), time.strftime("%H:%M:%S", time.gmtime())
    merge = wait_merged(sites, a_id, site_b, 20 * hb + 120)
    took = None if merge is None else merge.seconds
    routed = wait_until(
        lambda: served_by(sites.a, GEMMA, site_b) and served_by(sites.b, SMOL, {a_id}),
        healed_at,
        20 * hb + 150,
    )
    return Round(
        round=n,
        heartbeat_s=hb,
        cut_at=cut_wall,
        healed_at=heal_wall,
        cut_off_status=cut_status,
        cut_off_code=cut_code,
        cut_off_s=round(cut_s, 2),
        expired_after_s=round(gone["s"], 1),
        expired_status=exp_status,
        expired_code=exp_code,
        expired_s=round(exp_s, 2),
        own_requests=requests,
        own_errors=errors,
        heal_s=took,
        heal_beats=None if took is None else round(took / hb, 1),
        views_s={} if merge is None else merge.views,
        routed_s=None if routed is None else round(routed, 1),
    )


def table(rounds: list[Round]) -> str:
    lines = [
        "| heartbeat | round | cut off: A asked for B's model | B's records expired at A after | "
        "then asked | own-model requests (errors) | both sites list all nodes after | heartbeats |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rounds:
        heal_s = "never" if r.heal_s is None else f"{r.heal_s:.1f} s"
        beats = "-" if r.heal_beats is None else f"{r.heal_beats:.1f}"
        lines.append(
            f"| {r.heartbeat_s:g} s | {r.round} | {r.cut_off_status} {r.cut_off_code} in {r.cut_off_s:.1f} s "
            f"| {r.expired_after_s:.0f} s | {r.expired_status} {r.expired_code} in {r.expired_s:.1f} s "
            f"| {r.own_requests} ({r.own_errors}) | {heal_s} | {beats} |"
        )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heartbeat", type=float, default=10.0, help="the nodes' heartbeat interval, s")
    ap.add_argument("--rounds", type=int, default=2, help="partitions, each healed before the next")
    ap.add_argument("--json", type=Path, help="write the rounds' JSON here too")
    args = ap.parse_args()
    if NOT_ROOT:
        print("network namespaces and iptables need root", file=sys.stderr)
        return 2
    if (missing := missing_tools()) is not None:
        print(missing, file=sys.stderr)
        return 2
    logs = Path(tempfile.mkdtemp(prefix="partition-heal-"))
    lab = open_lab("bench")
    sites = make_sites(lab, logs, args.heartbeat)
    rounds: list[Round] = []
    try:
        for node in sites.nodes:
            node.start()
        a_id, site_b = sites.ids()
        formed = wait_merged(sites, a_id, site_b, 20 * args.heartbeat + 120)
        if formed is None:
            raise SystemExit("the swarm never formed")
        for n in range(1, args.rounds + 1):
            rounds.append(run_round(sites, n))
            print(json.dumps(asdict(rounds[-1])), flush=True)
    finally:
        for node in reversed(sites.nodes):
            node.stop()
        lab.close()
    print(table(rounds))
    worst = max((r.heal_beats or float("inf") for r in rounds), default=float("inf"))
    print(f"worst re-merge: {worst:.1f} heartbeats (goal {GOAL_BEATS}); node logs in {logs}")
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(r) for r in rounds], indent=2))
    return 0 if all(r.own_errors == 0 and r.heal_s is not None for r in rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
