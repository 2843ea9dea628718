"""Thin I/O against the API server and the nodes' HTTP API; every decision lives elsewhere.

Uses the official synchronous ``kubernetes`` client (kopf runs sync handlers in a thread pool).
API failures become ``KubeError``; "not found" is an answer (None / False), not an error.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient

from llamanet_operator.errors import KubeError
from llamanet_operator.names import GPU_RESOURCE


def load_config() -> None:
    """In-cluster credentials, else the local kubeconfig."""
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()


class Kube:
    def __init__(self, field_manager: str, http_timeout: float) -> None:
        self.api = client.ApiClient()
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self._dynamic: DynamicClient | None = None
        self.field_manager = field_manager
        self.http_timeout = http_timeout

    @property
    def dynamic(self) -> DynamicClient:
        if self._dynamic is None:
            self._dynamic = DynamicClient(self.api)
        return self._dynamic

    def _fail(self, what: str, exc: ApiException) -> KubeError:
        return KubeError(f"{what}: {exc.status} {exc.reason}")

    def apply(self, obj: dict[str, Any]) -> None:
        """Server-side apply: create or patch to exactly our fields (idempotent), taking ownership."""
        what = f"apply {obj['kind']} {obj['metadata']['namespace']}/{obj['metadata']['name']}"
        try:
            res = self.dynamic.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
            self.dynamic.server_side_apply(
                res,
                body=obj,
                namespace=obj["metadata"]["namespace"],
                field_manager=self.field_manager,
                force_conflicts=True,
            )
        except ApiException as exc:
            raise self._fail(what, exc) from exc

    def delete(self, api_version: str, kind: str, namespace: str, name: str) -> None:
        try:
            res = self.dynamic.resources.get(api_version=api_version, kind=kind)
            self.dynamic.delete(res, name=name, namespace=namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise self._fail(f"delete {kind} {namespace}/{name}", exc) from exc

    def pvc_exists(self, namespace: str, name: str) -> bool:
        try:
            self.core.read_namespaced_persistent_volume_claim(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise self._fail(f"read PVC {namespace}/{name}", exc) from exc
        return True

    def max_node_gpus(self) -> int:
        """The most ``nvidia.com/gpu`` any one node offers (allocatable)."""
        try:
            nodes = self.core.list_node().items
        except ApiException as exc:
            raise self._fail("list nodes", exc) from exc
        best = 0
        for node in nodes:
            allocatable = node.status.allocatable if node.status is not None else None
            value = (allocatable or {}).get(GPU_RESOURCE, "0")
            best = max(best, int(value) if str(value).isdigit() else 0)
        return best

    def statefulset_status(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            sts = self.apps.read_namespaced_stateful_set_status(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise self._fail(f"read StatefulSet {namespace}/{name}", exc) from exc
        status: dict[str, Any] = self.api.sanitize_for_serialization(sts.status) or {}
        return status

    def pods(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        try:
            pods = self.core.list_namespaced_pod(namespace, label_selector=selector).items
        except ApiException as exc:
            raise self._fail(f"list pods {namespace} {selector}", exc) from exc
        return [self.api.sanitize_for_serialization(p) for p in pods]

    def services(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        """Services of ``selector``, with their assigned NodePorts and load balancer status."""
        try:
            items = self.core.list_namespaced_service(namespace, label_selector=selector).items
        except ApiException as exc:
            raise self._fail(f"list services {namespace} {selector}", exc) from exc
        return [self.api.sanitize_for_serialization(s) for s in items]

    def config_map_data(self, namespace: str, name: str) -> dict[str, str] | None:
        """A ConfigMap's data (None: no such ConfigMap)."""
        try:
            cm = self.core.read_namespaced_config_map(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise self._fail(f"read ConfigMap {namespace}/{name}", exc) from exc
        return dict(cm.data or {})

    def mount_failures(self, namespace: str) -> list[dict[str, Any]]:
        """The namespace's ``FailedMount`` Events (a pod's Secret that is missing shows there)."""
        try:
            events = self.core.list_namespaced_event(namespace, field_selector="reason=FailedMount").items
        except ApiException as exc:
            raise self._fail(f"list events {namespace}", exc) from exc
        return [self.api.sanitize_for_serialization(e) for e in events]

    def get_text(self, url: str, max_bytes: int) -> str | None:
        """GET a node's route as text, reading at most ``max_bytes`` within ``http_timeout`` in all; None
        when the node does not answer well, answers more or trickles (a hostile pod can neither make the
        operator buffer without bound nor hold its handler). Redirects are not followed."""
        deadline = time.monotonic() + self.http_timeout
        try:
            with httpx.stream("GET", url, timeout=self.http_timeout) as resp:
                if resp.status_code != 200:
                    return None
                body = bytearray()
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > max_bytes or time.monotonic() > deadline:
                        return None
            return body.decode("utf-8", "replace")
        except httpx.HTTPError:
            return None
