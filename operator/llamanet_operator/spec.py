"""The LlamaNode spec as typed models (camelCase in YAML) and the checks the CRD schema cannot do.

Defaults here equal the CRD's (``crds/llamanode.yaml``), so a spec read from an older object or a
test's dict behaves as the API server would have defaulted it.
"""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from llamanet_common.addresses import parse_peers
from llamanet_common.certs import parse_authorities
from llamanet_common.errors import LlamaNetError
from llamanet_common.urls import url_problem
from llamanet_operator.errors import SpecError

SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class PvcSource(_Model):
    claim_name: str = Field(min_length=1)
    path: str = Field(min_length=1, description="GGUF file inside the volume")


class ModelSource(_Model):
    url: str | None = None
    sha256: str | None = None
    pvc: PvcSource | None = None

    @model_validator(mode="after")
    def _one_source(self) -> ModelSource:
        if (self.url is None) == (self.pvc is None):
            raise ValueError("exactly one of model.source.url and model.source.pvc must be set")
        if self.url is not None and (self.sha256 is None or not SHA256_RE.match(self.sha256)):
            raise ValueError("model.source.sha256 must be 64 hex digits when model.source.url is set")
        return self


class ModelSpec(_Model):
    name: str = Field(min_length=1, max_length=128)
    source: ModelSource


class Resources(_Model):
    requests: dict[str, str | int] = Field(default_factory=dict)
    limits: dict[str, str | int] = Field(default_factory=dict)
    gpus: int = Field(0, ge=0)


class EngineSpec(_Model):
    context_size: int = Field(2048, ge=64)
    batch_size: int = Field(512, ge=1)
    gpu_layers: int | None = Field(None, ge=-1)
    threads: int | None = Field(None, ge=1)
    parallel: int | None = Field(None, ge=1, le=64)
    chat_format: str | None = None
    embeddings: bool = False  # EMBEDDINGS: /v1/embeddings from a second, pooled context


class SwarmSecretRef(_Model):
    name: str = Field(min_length=1)
    key: str = Field("secret", min_length=1)


class ApiKeySecretRef(_Model):
    name: str = Field(min_length=1)
    key: str = Field("api-key", min_length=1)


class PodServices(_Model):
    """One Service per replica: each pod's own external DHT (UDP) and HTTP (TCP) address (``podservices``)."""

    type: Literal["NodePort", "LoadBalancer"] = "NodePort"
    dht_node_port_base: int | None = Field(None, ge=30000, le=32767)  # pod i: base + i; else assigned
    http_node_port_base: int | None = Field(None, ge=30000, le=32767)


class SwarmAuthority(_Model):
    """``swarm.authority``: with an operator that holds a swarm authority (``authority``), whether it
    certifies these pods (``enabled``), and the authority keys they trust instead of the operator's."""

    enabled: bool = True
    roots: list[str] = Field(default_factory=list, max_length=16)

    @field_validator("roots")
    @classmethod
    def _hex_keys(cls, value: list[str]) -> list[str]:
        return sorted(parse_authorities(",".join(value)))


class Swarm(_Model):
    bootstrap_peers: list[str] = Field(default_factory=list)
    advertise_host: str | None = None
    advertise_dht_port: int | None = Field(None, ge=1, le=65535)
    advertise_urls: list[str] = Field(default_factory=list)
    dht_service_type: Literal["NodePort", "LoadBalancer"] = "NodePort"
    dht_node_port: int | None = Field(None, ge=30000, le=32767)
    secret_ref: SwarmSecretRef | None = None
    pod_services: PodServices | None = None
    authority: SwarmAuthority = Field(default_factory=lambda: SwarmAuthority.model_validate({}))


class ServiceSpec(_Model):
    type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = "ClusterIP"
    port: int = Field(8000, ge=1, le=65535)
    node_port: int | None = Field(None, ge=30000, le=32767)


class Storage(_Model):
    size: str | None = None
    storage_class_name: str | None = None


class Autoscaling(_Model):
    """Replicas from the queue depth of the LlamaNode's own pods (``autoscale``)."""

    min_replicas: int = Field(1, ge=1)
    max_replicas: int = Field(ge=1)
    target_queue_per_replica: int = Field(2, ge=1)
    scale_down_delay_seconds: int = Field(300, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError("autoscaling.minReplicas must not exceed maxReplicas")
        return self


class Routing(_Model):
    """Data residency: the sites this LlamaNode's pods may route requests to (ROUTE_SITES); empty: any."""

    allowed_sites: list[str] = Field(default_factory=list, max_length=32)

    @model_validator(mode="after")
    def _names(self) -> Routing:
        for site in self.allowed_sites:
            if not site or len(site) > 64 or not site.isprintable() or "," in site or "*" in site:
                raise ValueError(f"routing.allowedSites: bad site name {site[:64]!r}")
        return self


class LlamaNodeSpec(_Model):
    model: ModelSpec
    replicas: int = Field(1, ge=0)
    image: str | None = None
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    resources: Resources = Field(default_factory=lambda: Resources.model_validate({}))
    engine: EngineSpec = Field(default_factory=lambda: EngineSpec.model_validate({}))
    swarm: Swarm = Field(default_factory=lambda: Swarm.model_validate({}))
    api_key_secret_ref: ApiKeySecretRef | None = None
    service: ServiceSpec = Field(default_factory=lambda: ServiceSpec.model_validate({}))
    storage: Storage = Field(default_factory=lambda: Storage.model_validate({}))
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[dict[str, Any]] = Field(default_factory=list)
    affinity: dict[str, Any] | None = None
    priority_class_name: str | None = None
    runtime_class_name: str | None = None
    env: list[dict[str, Any]] = Field(default_factory=list)
    site: str | None = Field(None, max_length=64)
    routing: Routing = Field(default_factory=lambda: Routing.model_validate({}))
    autoscaling: Autoscaling | None = None

    @property
    def max_replicas(self) -> int:
        """The most replicas this spec may run (the autoscaler's bound when it sets ``replicas``)."""
        return max(self.replicas, self.autoscaling.max_replicas if self.autoscaling else 0)

    @property
    def gpu_layers(self) -> int:
        """N_GPU_LAYERS: the spec's, else all layers (-1) with GPUs and none without."""
        if self.engine.gpu_layers is not None:
            return self.engine.gpu_layers
        return -1 if self.resources.gpus > 0 else 0


def _check_url(url: str, what: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SpecError(f"{what} {url!r} is not an http(s) URL with a host")


def parse_spec(raw: dict[str, Any]) -> LlamaNodeSpec:
    """The spec as a model, with every check beyond the CRD's schema; ``SpecError`` says what is wrong."""
    try:
        spec = LlamaNodeSpec.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "spec"
        raise SpecError(f"spec.{where}: {first['msg']}") from exc
    if spec.model.source.url is not None:
        _check_url(spec.model.source.url, "model.source.url")
    if spec.model.source.pvc is not None:
        path = spec.model.source.pvc.path
        if path.startswith("/") or ".." in path.split("/"):
            raise SpecError(f"model.source.pvc.path {path!r} must be relative to the volume, without '..'")
    for url in spec.swarm.advertise_urls:
        if (problem := url_problem(url)) is not None:  # the node refuses to start with such a URL
            raise SpecError(f"swarm.advertiseUrls entry {url!r}: {problem}")
    try:
        parse_peers(",".join(spec.swarm.bootstrap_peers))
    except LlamaNetError as exc:
        raise SpecError(f"swarm.bootstrapPeers: {exc}") from exc
    if spec.swarm.dht_node_port is not None and spec.swarm.dht_service_type != "NodePort":
        raise SpecError("swarm.dhtNodePort needs swarm.dhtServiceType NodePort")
    if spec.service.node_port is not None and spec.service.type == "ClusterIP":
        raise SpecError("service.nodePort needs service.type NodePort or LoadBalancer")
    if spec.swarm.pod_services is not None:
        _check_pod_services(spec)
    return spec


def _check_pod_services(spec: LlamaNodeSpec) -> None:
    """Every pod gets its own address: shared ones make no sense, and fixed NodePorts must fit."""
    swarm, pods = spec.swarm, spec.swarm.pod_services
    assert pods is not None
    if swarm.dht_node_port is not None or swarm.advertise_dht_port is not None or swarm.advertise_urls:
        raise SpecError(
            "swarm.podServices gives every pod its own address: leave out swarm.dhtNodePort, "
            "advertiseDhtPort and advertiseUrls (shared by all pods)"
        )
    if pods.type == "NodePort" and not swarm.advertise_host:
        raise SpecError(
            "swarm.podServices.type NodePort needs swarm.advertiseHost (this site's node address)"
        )
    ranges = []
    for what, base in (
        ("dhtNodePortBase", pods.dht_node_port_base),
        ("httpNodePortBase", pods.http_node_port_base),
    ):
        if base is None:
            continue
        last = base + max(spec.max_replicas, 1) - 1
        if last > 32767:
            raise SpecError(f"swarm.podServices.{what} {base} + {spec.max_replicas} replicas passes 32767")
        ranges.append(range(base, last + 1))
    if len(ranges) == 2 and set(ranges[0]) & set(ranges[1]):
        raise SpecError("swarm.podServices: the DHT and HTTP NodePort ranges overlap")
    endpoint = spec.service.node_port
    if endpoint is not None and any(endpoint in r for r in ranges):
        raise SpecError(f"service.nodePort {endpoint} falls in a swarm.podServices NodePort range")


def advice(spec: LlamaNodeSpec, certified: bool = False) -> list[tuple[str, str]]:
    """(reason, message) of each valid but likely unintended choice in ``spec``: a Warning Event each.
    ``certified``: the pods get the operator's swarm authority (then certified members forward to keyed
    pods, secret or not)."""
    out: list[tuple[str, str]] = []
    if spec.api_key_secret_ref is not None and spec.swarm.secret_ref is None and not certified:
        out.append(
            (
                "ForwardedWorkRefused",
                "apiKeySecretRef without swarm.secretRef: these nodes check their users' key and refuse "
                "work forwarded by other nodes (with an API key, only peers proving the swarm secret may "
                "forward), so other sites cannot route to them; set swarm.secretRef to the same Secret "
                "at every site (or give the operator a swarm authority: operator.authority)",
            )
        )
    if spec.swarm.authority.roots and not certified:
        out.append(
            (
                "NoSwarmAuthority",
                "swarm.authority.roots is set but this operator has no swarm authority "
                "(operator.authority.secretName) or swarm.authority.enabled is false: the pods get no "
                "certificates and trust no authority",
            )
        )
    return out
