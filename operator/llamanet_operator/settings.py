"""``OperatorSettings``: the operator's knobs, from ``LLAMANET_OPERATOR_*`` environment variables.

Read once by ``run_operator`` (CLI flags passed as init arguments win); nothing else reads the
environment.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from llamanet_common.version import __version__


class OperatorSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LLAMANET_OPERATOR_", case_sensitive=False, extra="ignore", env_ignore_empty=True
    )

    namespaces: list[str] = Field(default_factory=list, description="namespaces to watch")
    all_namespaces: bool = Field(False, description="watch every namespace (cluster scope)")
    liveness: str = Field("http://0.0.0.0:8080/healthz", description="kopf liveness endpoint")
    node_image: str = Field(f"llamanet/node:{__version__}", description="image when a spec gives none")
    cluster_domain: str = Field("cluster.local", description="the cluster's DNS domain")
    observe_interval: float = Field(30.0, gt=0, description="seconds between status observations")
    http_timeout: float = Field(5.0, gt=0, description="timeout of requests to the nodes' HTTP API")
    field_manager: str = Field("llamanet-operator", description="server-side apply field manager")
    log_level: str = "INFO"
