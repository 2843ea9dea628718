"""``SWARM_CERT_FILE`` as the heartbeat reads it (``membership.CertFile``): re-read every time, a bad or
missing file keeps the last good chain; ``own_cert_problem`` says why peers would refuse this node."""

from __future__ import annotations

import json
import time
from pathlib import Path

from llamanet.membership import CertFile, own_cert_problem
from llamanet_common.certs import issue_certificate
from llamanet_common.identity import NodeIdentity
from llamanet_common.record import RecordFields

ROOT, NODE = NodeIdentity.generate(), NodeIdentity.generate()


def chain(models: list[str]) -> list[dict[str, object]]:
    now = int(time.time())
    cert = issue_certificate(
        ROOT, subject=NODE.public_key_hex, models=models, not_before=now, not_after=now + 60
    )
    return [cert]


def test_the_file_is_re_read_and_a_bad_one_keeps_the_last_good_chain(tmp_path: Path) -> None:
    path = tmp_path / "chain.json"
    watch = CertFile(path)
    assert watch.chain() is None  # not issued yet
    first, second = chain(["a"]), chain(["b"])
    path.write_text(json.dumps(first))
    assert watch.chain() == first
    path.write_text(json.dumps(second))
    assert watch.chain() == second  # a renewal is picked up at the next heartbeat
    path.write_text("[{")
    assert watch.chain() == second
    path.unlink()
    assert watch.chain() == second
    assert CertFile(None).chain() is None


def test_own_cert_problem_names_what_peers_would_refuse() -> None:
    roots = frozenset({ROOT.public_key_hex})
    good = RecordFields(models=["a"], cert=chain(["a"]))
    assert own_cert_problem(good, NODE.public_key_hex, roots, time.time()) is None
    assert own_cert_problem(good, NODE.public_key_hex, frozenset(), time.time()) is None  # no authority
    assert "no membership certificate" in str(own_cert_problem(RecordFields(), NODE.public_key_hex, roots, 0))
    wrong = RecordFields(models=["b"], cert=chain(["a"]))
    assert "outside the certificate" in str(own_cert_problem(wrong, NODE.public_key_hex, roots, time.time()))
    later = time.time() + 3600
    assert "expired" in str(own_cert_problem(good, NODE.public_key_hex, roots, later))
