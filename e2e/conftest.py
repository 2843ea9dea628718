"""Fixtures of the e2e suite: kind clusters on the node image built here, locally built images loaded
into them, a namespace per test, and diagnostics (events, pod descriptions, logs) when a test fails.

Clusters are created once per session and deleted at its end; LLAMANET_KEEP_CLUSTERS=1 keeps them (and
reuses them next time). NODE_IMAGE=kindest/node:... runs on kind's public images instead.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e import sites
from e2e.kube import ARTIFACTS, RESTRICTED_LABELS, ROOT, Cluster, run
from e2e.product import ModelServer, build_images, install_operator
from e2e.sites import Site
from llamanet.models.cache import ModelCache
from llamanet.models.pull import pull
from llamanet.settings import Settings

KEEP = os.environ.get("LLAMANET_KEEP_CLUSTERS") == "1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(ROOT / "e2e"):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember each phase's report on the item, so fixtures can tell whether their test failed."""
    outcome = yield
    rep = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{rep.when}", rep)


def kind_sh(*args: str, timeout: float = 1800, env: dict[str, str] | None = None) -> str:
    proc = run([str(ROOT / "cluster" / "kind.sh"), *args], timeout=timeout, check=False, env=env)
    log = ARTIFACTS / f"kind-{'-'.join(args[:2])}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(
            f"cluster/kind.sh {' '.join(args)} failed; {log}:\n{(proc.stdout + proc.stderr)[-4000:]}"
        )
    return proc.stdout


def make_cluster(name: str, site: Site | None = None) -> Iterator[Cluster]:
    """Cluster NAME, on its site's own network behind the site's NAT router when ``site`` is given."""
    env = None
    if site is not None:
        sites.prepare(site)
        env = {"KIND_EXPERIMENTAL_DOCKER_NETWORK": site.network}
    kind_sh("up", name, env=env)
    cluster = Cluster(name, ROOT / "artifacts" / "clusters" / f"{name}.kubeconfig", site)
    try:
        if site is not None:
            sites.join_site(site, cluster.node_container, sites.KIND_PORTS)
        yield cluster
    finally:
        if not KEEP:
            kind_sh("down", name, timeout=300)
            if site is not None:
                sites.remove(site)


@pytest.fixture(scope="session")
def site_a() -> Iterator[Cluster]:
    """The first cluster (site A), on its own network behind its NAT router (``e2e/sites.py``)."""
    yield from make_cluster("llamanet-e2e-a", sites.SITES["a"])


@pytest.fixture(scope="session")
def site_b(site_a: Cluster) -> Iterator[Cluster]:
    """A second cluster (site B), created after site A, on another network behind another router: the
    two reach each other only through both NATs."""
    yield from make_cluster("llamanet-e2e-b", sites.SITES["b"])


@pytest.fixture(scope="session")
def echo_image() -> str:
    """e2e/echoserver built here (go build, then `docker build` FROM scratch): a never-pulled image."""
    src = ROOT / "e2e" / "echoserver"
    out = ARTIFACTS / "echoserver-build"
    out.mkdir(parents=True, exist_ok=True)
    run(["go", "build", "-trimpath", "-o", str(out / "echoserver"), "."], env={"CGO_ENABLED": "0"}, cwd=src)
    (out / "Dockerfile").write_text((src / "Dockerfile").read_text())
    tag = "llamanet.local/echoserver:e2e"
    run(["docker", "build", "-q", "-t", tag, str(out)], timeout=300)
    return tag


def new_namespace(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace named after the test, enforcing Pod Security "restricted"."""
    base = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:40].strip("-")
    ns = f"{base}-{uuid.uuid4().hex[:5]}"
    cluster.kubectl("create", "namespace", ns)
    # the API server itself proves every pod of the suite passes Pod Security "restricted"
    cluster.kubectl("label", "namespace", ns, *RESTRICTED_LABELS)
    try:
        yield ns
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is None or rep.failed:
            dest = cluster.dump(ARTIFACTS / request.node.name, [ns, "llamanet-system"])
            print(f"diagnostics of {cluster.name}/{ns} in {dest}")
        cluster.kubectl("delete", "namespace", ns, "--wait=false", check=False)


@pytest.fixture
def ns_a(site_a: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace in site A; dumped to artifacts/e2e/<test>/ when the test fails."""
    yield from new_namespace(site_a, request)


@pytest.fixture
def ns_b(site_b: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    yield from new_namespace(site_b, request)


@pytest.fixture(scope="session")
def product_images() -> dict[str, str]:
    """llamanet/node:e2e and llamanet/operator:e2e built from this checkout."""
    return build_images()


@pytest.fixture(scope="session")
def model_server() -> Iterator[ModelServer]:
    """The host's model cache (both test models pulled) served over HTTP to the clusters."""
    cache = ModelCache(Settings().models_dir)
    for name in ("smollm2-135m", "gemma3-270m"):
        if cache.find(name) is None:
            pull(name, cache)
    server = ModelServer(cache.root)
    yield server
    server.close()


def operator_on(cluster: Cluster, images: dict[str, str]) -> Cluster:
    for image in images.values():
        kind_sh("load", cluster.name, image, timeout=900)
    install_operator(cluster, images)
    return cluster


@pytest.fixture(scope="session")
def operator_a(site_a: Cluster, product_images: dict[str, str]) -> Cluster:
    """Site A with our images loaded and the chart installed (operator watching every namespace)."""
    return operator_on(site_a, product_images)


@pytest.fixture(scope="session")
def operator_b(site_b: Cluster, product_images: dict[str, str]) -> Cluster:
    return operator_on(site_b, product_images)
