"""The operator's swarm authority on a real cluster (issue 14 item 2): a namespace-scoped release with
``operator.authority.secretName`` (the suite's cluster-scoped release leaves that namespace to it, so no
other test runs with an authority) certifies a keyed LlamaNode's pods.

A root and a site authority are made here, the site's key and its delegation go into a Secret the
chart mounts into the operator pod; the pods start uncertified, the operator reads each ready pod's
public key from its ``/metrics`` and publishes its chain in ``<name>-certs``; ``status.certificates``
reaches 2/2 and each pod's ``/swarm/nodes`` (with its API key: ``apiKeySecretRef``, no swarm secret)
lists both pods, so they are certified members of each other's swarm.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from e2e.kube import ROOT, Cluster, wait_for
from e2e.product import ModelServer, condition, helm, install_operator, llamanode
from e2e.test_operator import SMOL, get_ln
from llamanet_common.certs import issue_certificate, parse_chain, verify_chain
from llamanet_common.identity import NodeIdentity, node_id_for_public_key

RELEASE = "llamanet-authority"
API_KEY = "e2e-authority-key"
LIST_NODES = """
import json, sys, urllib.request
auth = {"Authorization": "Bearer " + sys.argv[1]}
req = urllib.request.Request("http://127.0.0.1:8000/swarm/nodes", headers=auth)
nodes = json.load(urllib.request.urlopen(req, timeout=10))["nodes"]
print(json.dumps(sorted(n["node_id"] for n in nodes)))
"""


def authority_files(tmp_path: Path) -> tuple[NodeIdentity, Path, Path]:
    """(root, the site key file, its delegation from the root) as `llamanet swarm` writes them."""
    root = NodeIdentity.generate()
    key_file = tmp_path / "authority.key"
    site = NodeIdentity.load_or_create(key_file)
    now = int(time.time())
    delegation = issue_certificate(root, subject=site.public_key_hex, role="authority", models=[SMOL],
                                   sites=["a"], not_before=now - 60, not_after=now + 86400)  # fmt: skip
    chain_file = tmp_path / "chain.json"
    chain_file.write_text(json.dumps([delegation]))
    return root, key_file, chain_file


def test_the_operator_certifies_its_pods_and_they_list_each_other(
    operator_a: Cluster,
    ns_a: str,
    model_server: ModelServer,
    product_images: dict[str, str],
    tmp_path: Path,
) -> None:
    kube = operator_a
    root, key_file, chain_file = authority_files(tmp_path)
    repo, tag = product_images["operator"].rsplit(":", 1)
    kube.kubectl("create", "secret", "generic", "swarm-authority", "-n", ns_a,
                 f"--from-file=authority.key={key_file}", f"--from-file=chain.json={chain_file}")  # fmt: skip
    kube.kubectl("create", "secret", "generic", "api-key", "-n", ns_a, f"--from-literal=api-key={API_KEY}")
    try:
        install_operator(kube, product_images, ["--set", f"operator.excludeNamespaces={{{ns_a}}}"])
        helm(
            kube, "upgrade", "--install", RELEASE, str(ROOT / "charts" / "llamanet"), "--namespace", ns_a,
            "--skip-crds", "--wait", "--timeout", "5m",
            "--set", f"operator.image.repository={repo}", "--set", f"operator.image.tag={tag}",
            "--set", "operator.image.pullPolicy=Never",
            "--set", f"operator.nodeImage={product_images['node']}",
            "--set", "operator.scope=namespace", "--set", "operator.observeInterval=5",
            "--set", "operator.authority.secretName=swarm-authority",
        )  # fmt: skip
        spec: dict[str, Any] = {"site": "a", "apiKeySecretRef": {"name": "api-key"}}
        kube.apply(llamanode("certified", model_server.model(SMOL), replicas=2, **spec), ns_a)

        def all_certified() -> dict[str, Any] | None:
            obj = get_ln(kube, ns_a, "certified")
            return obj if obj.get("status", {}).get("certificates") == "2/2" else None

        obj = wait_for("status.certificates 2/2", all_certified, 600, 3)
        assert condition(obj, "Degraded")["status"] == "False", obj["status"]

        sts = kube.json("get", "statefulset", "-n", ns_a, "certified")
        env = {e["name"]: e.get("value") for e in sts["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["SWARM_AUTHORITY"] == root.public_key_hex  # the chain's root, by default
        data = kube.json("get", "configmap", "-n", ns_a, "certified-certs")["data"]
        assert sorted(data) == ["certified-0", "certified-1"]
        ids = []
        for pod, text in sorted(data.items()):
            chain = parse_chain(text)
            scope = verify_chain(chain, chain[0]["subject"], {root.public_key_hex}, time.time())
            assert scope.models == {SMOL} and scope.sites == {"a"}, pod
            ids.append(node_id_for_public_key(bytes.fromhex(chain[0]["subject"])))

        def listed_by_both() -> bool:
            for pod in ("certified-0", "certified-1"):
                out = kube.exec_in_pod(ns_a, pod, "python", "-c", LIST_NODES, API_KEY)
                if not set(ids) <= set(json.loads(out.strip().splitlines()[-1])):
                    return False
            return True

        wait_for("each pod to list both certified pods", listed_by_both, 120, 3)
    finally:
        kube.kubectl("delete", "llamanode", "-n", ns_a, "certified", "--wait=true", timeout=300, check=False)
        helm(kube, "uninstall", RELEASE, "-n", ns_a, "--wait", "--timeout", "3m")
        install_operator(kube, product_images)
