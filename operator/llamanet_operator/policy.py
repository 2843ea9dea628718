"""The operator's policy (pure): what a LlamaNode may ask the operator to run on its creator's behalf.

Whoever may create a LlamaNode should not thereby run any image, read any Secret or claim any runtime
or priority class: the operator runs the pods with its own rights. The bounds, from ``Policy``
(operator settings, the chart's ``operator.policy``):

- ``image``: must start with an allowed prefix. By default: the operator's node image repository
  (``<repo>:`` and ``<repo>@``, so every tag, the ``-cuda`` ones of the GPU image included), the
  ``<repo>-cuda`` repository, and the repository of the operator's CUDA image (``default_image``: a spec
  with ``resources.gpus > 0`` and no image runs ``node_image_cuda``, by default ``<node image>-cuda``).
- ``env``: ``valueFrom`` only from the downward API (``fieldRef``, ``resourceFieldRef``) or from a
  Secret/ConfigMap the spec already names (``swarm.secretRef``, ``apiKeySecretRef``, or one listed in
  ``policy.allowedEnvSecrets/allowedEnvConfigMaps``); no ``envFrom``-like escape exists in the spec.
- ``runtimeClassName`` / ``priorityClassName``: only from the allow-lists (empty: none allowed).

A refused spec raises ``PolicyError`` (a ``SpecError``): Degraded condition, Warning Event, nothing
applied, no retry until the spec changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from llamanet_common.version import __version__
from llamanet_operator.errors import SpecError
from llamanet_operator.settings import OperatorSettings
from llamanet_operator.spec import LlamaNodeSpec

_DOWNWARD = frozenset({"fieldRef", "resourceFieldRef"})


class PolicyError(SpecError):
    """The spec asks for something the operator's policy does not allow."""

    reason = "PolicyViolation"


def image_repository(image: str) -> str:
    """``registry:5000/llamanet/node:0.1.0`` -> ``registry:5000/llamanet/node`` (a digest is dropped too)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)
    if ":" in last[-1]:
        name = name[: name.rindex(":")]
    return name


def cuda_image(node_image: str) -> str:
    """The CUDA build of a node image: ``-cuda`` appended to its tag (``llamanet/node:0.1.0`` ->
    ``llamanet/node:0.1.0-cuda``; no tag: ``latest-cuda``). A digest names one build, not a tag to
    extend: ``<repo>:<version>-cuda`` then (set ``node_image_cuda`` to pin the CUDA image by digest)."""
    repo = image_repository(node_image)
    if "@" in node_image:
        return f"{repo}:{__version__}-cuda"
    tag = node_image[len(repo) + 1 :] if len(node_image) > len(repo) else "latest"
    return f"{repo}:{tag}-cuda"


def default_image(spec: LlamaNodeSpec, settings: OperatorSettings) -> str:
    """The image of a spec that names none: the CUDA image where it asks for GPUs."""
    if spec.resources.gpus > 0:
        return settings.node_image_cuda or cuda_image(settings.node_image)
    return settings.node_image


def default_image_prefixes(node_image: str, node_image_cuda: str | None = None) -> tuple[str, ...]:
    repos = [image_repository(node_image), image_repository(node_image) + "-cuda"]
    repos.append(image_repository(node_image_cuda or cuda_image(node_image)))
    return tuple(f"{repo}{sep}" for repo in dict.fromkeys(repos) for sep in (":", "@"))


@dataclass(frozen=True)
class Policy:
    image_prefixes: tuple[str, ...]
    runtime_classes: frozenset[str] = frozenset()
    priority_classes: frozenset[str] = frozenset()
    env_secrets: frozenset[str] = frozenset()
    env_config_maps: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: OperatorSettings) -> Policy:
        """Empty ``allowed_image_prefixes``: the defaults from the operator's node image."""
        return cls(
            tuple(
                settings.allowed_image_prefixes
                or default_image_prefixes(settings.node_image, settings.node_image_cuda)
            ),
            frozenset(settings.allowed_runtime_classes),
            frozenset(settings.allowed_priority_classes),
            frozenset(settings.allowed_env_secrets),
            frozenset(settings.allowed_env_config_maps),
        )


def _named_secrets(spec: LlamaNodeSpec) -> set[str]:
    refs = (spec.swarm.secret_ref, spec.api_key_secret_ref)
    return {r.name for r in refs if r is not None}


def _check_env(spec: LlamaNodeSpec, policy: Policy, out: list[str]) -> None:
    secrets = _named_secrets(spec) | policy.env_secrets
    for i, var in enumerate(spec.env):
        where = f"env[{i}] ({var.get('name')!r})"
        source = var.get("valueFrom")
        if source is None:
            continue
        if not isinstance(source, dict) or len(source) != 1:
            out.append(f"{where}: valueFrom must name exactly one source")
            continue
        ((kind, ref),) = source.items()
        name = ref.get("name") if isinstance(ref, dict) else None
        if kind in _DOWNWARD:
            continue
        if kind == "secretKeyRef":
            if name not in secrets:
                out.append(
                    f"{where}: valueFrom Secret {name!r} is not one the spec names "
                    f"(swarm.secretRef, apiKeySecretRef) nor allowed by the operator"
                )
        elif kind == "configMapKeyRef":
            if name not in policy.env_config_maps:
                out.append(f"{where}: valueFrom ConfigMap {name!r} is not allowed by the operator")
        else:
            out.append(f"{where}: valueFrom {kind!r} is not allowed")


def violations(spec: LlamaNodeSpec, policy: Policy) -> list[str]:
    """Everything in ``spec`` the policy refuses; [] when it may run."""
    out: list[str] = []
    if spec.image is not None and not spec.image.startswith(policy.image_prefixes):
        out.append(
            f"image {spec.image!r} does not start with an allowed prefix {list(policy.image_prefixes)}"
        )
    if spec.runtime_class_name is not None and spec.runtime_class_name not in policy.runtime_classes:
        out.append(
            f"runtimeClassName {spec.runtime_class_name!r} is not allowed "
            f"(allowed: {sorted(policy.runtime_classes) or 'none'})"
        )
    if spec.priority_class_name is not None and spec.priority_class_name not in policy.priority_classes:
        out.append(
            f"priorityClassName {spec.priority_class_name!r} is not allowed "
            f"(allowed: {sorted(policy.priority_classes) or 'none'})"
        )
    _check_env(spec, policy, out)
    return out


def enforce(spec: LlamaNodeSpec, policy: Policy) -> None:
    """Raise ``PolicyError`` naming every violation."""
    found = violations(spec, policy)
    if found:
        raise PolicyError("refused by the operator's policy: " + "; ".join(found))
