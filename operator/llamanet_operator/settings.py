"""``OperatorSettings``: the operator's knobs, from ``LLAMANET_OPERATOR_*`` environment variables.

Read once by ``run_operator`` (CLI flags passed as init arguments win); nothing else reads the
environment.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from llamanet_common.certs import parse_authorities
from llamanet_common.version import __version__


class OperatorSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LLAMANET_OPERATOR_", case_sensitive=False, extra="ignore", env_ignore_empty=True
    )

    namespaces: list[str] = Field(default_factory=list, description="namespaces to watch")
    all_namespaces: bool = Field(False, description="watch every namespace (cluster scope)")
    exclude_namespaces: list[str] = Field(
        default_factory=list, description="with all_namespaces: namespaces left to another operator"
    )
    liveness: str = Field("http://0.0.0.0:8080/healthz", description="kopf liveness endpoint")
    node_image: str = Field(f"llamanet/node:{__version__}", description="image when a spec gives none")
    node_image_cuda: str | None = Field(
        None,
        description="image when a spec with resources.gpus > 0 gives none; empty: node_image with '-cuda' "
        "appended to its tag (llamanet/node:0.1.0 -> llamanet/node:0.1.0-cuda, what make image-cuda builds)",
    )
    cluster_domain: str = Field("cluster.local", description="the cluster's DNS domain")
    observe_interval: float = Field(30.0, gt=0, description="seconds between status observations")
    http_timeout: float = Field(5.0, gt=0, description="timeout of requests to the nodes' HTTP API")
    field_manager: str = Field("llamanet-operator", description="server-side apply field manager")
    max_response_bytes: int = Field(
        1024 * 1024,
        gt=0,
        description="the most bytes read from one node's answer (a hostile pod cannot exhaust us)",
    )
    # the policy (``policy``): what a LlamaNode may ask for; lists are JSON in the environment
    allowed_image_prefixes: list[str] = Field(
        default_factory=list, description="image prefixes a spec may name; empty: the node image's repository"
    )
    allowed_runtime_classes: list[str] = Field(default_factory=list, description="runtimeClassNames allowed")
    allowed_priority_classes: list[str] = Field(
        default_factory=list, description="priorityClassNames allowed"
    )
    allowed_env_secrets: list[str] = Field(
        default_factory=list, description="Secrets env valueFrom may read besides those the spec names"
    )
    allowed_env_config_maps: list[str] = Field(
        default_factory=list, description="ConfigMaps env valueFrom may read"
    )
    # the swarm authority (``authority``): a key that certifies this operator's pods (docs/operator.md)
    authority_key_file: Path | None = Field(
        None, description="Ed25519 authority key (PEM) that signs the pods' membership certificates"
    )
    authority_chain_file: Path | None = Field(
        None, description="that key's delegation chain from a root (JSON); none, or no such file: a root"
    )
    authority_roots: list[str] = Field(
        default_factory=list,
        description="authority public keys (hex) the pods trust; empty: the chain's root, else the key's own",
    )
    cert_hours: float = Field(
        24.0, ge=0.25, le=24 * 30, description="lifetime of a pod's certificate, renewed with 1/3 left"
    )
    log_level: str = "INFO"

    @field_validator("authority_roots")
    @classmethod
    def _hex_keys(cls, value: list[str]) -> list[str]:
        return sorted(parse_authorities(",".join(value)))
