"""Pure builders of Ollama's answer shapes: NDJSON chunks, the final ``done`` object with Ollama's
counters (durations in nanoseconds), model listings (``/api/tags``, ``/api/ps``, ``/api/show``) and the
error body ``{"error": "..."}``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from json.encoder import encode_basestring  # type: ignore[attr-defined]  # C speed-up, as json.dumps uses
from typing import Any, Literal

from llamanet.api.streaming import HOLE
from llamanet.engine.engine import ModelInfo
from llamanet.engine.events import Finished, TokenLogprob

Kind = Literal["chat", "generate"]  # /api/chat answers a message, /api/generate a response text
NDJSON = "application/x-ndjson"


def timestamp(seconds: float) -> str:
    """RFC 3339 in UTC, as Ollama writes ``created_at``."""
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def _ns(seconds: float) -> int:
    return max(0, int(seconds * 1e9))


def logprob_entry(lp: TokenLogprob) -> dict[str, Any]:
    return {
        "token": lp.token,
        "logprob": lp.logprob,
        "top_logprobs": [{"token": t, "logprob": v} for t, v in lp.top],
    }


def _text_field(kind: Kind, text: str) -> dict[str, Any]:
    if kind == "chat":
        return {"message": {"role": "assistant", "content": text}}
    return {"response": text}


def chunk(
    kind: Kind, model: str, created_at: str, text: str, logprobs: list[TokenLogprob] | None = None
) -> dict[str, Any]:
    """One streamed piece of the answer (``done: false``)."""
    out = {"model": model, "created_at": created_at, **_text_field(kind, text), "done": False}
    if logprobs is not None:
        out["logprobs"] = [logprob_entry(lp) for lp in logprobs]
    return out


def final(
    kind: Kind,
    model: str,
    created_at: str,
    finished: Finished,
    text: str = "",
    logprobs: list[TokenLogprob] | None = None,
) -> dict[str, Any]:
    """The last object (``done: true``): the whole answer when not streamed, else only its tail."""
    out = chunk(kind, model, created_at, text, logprobs)
    out.update(
        done=True,
        done_reason=finished.finish_reason,
        total_duration=_ns(finished.generation_time),
        load_duration=0,
        prompt_eval_count=finished.prompt_tokens,
        prompt_eval_duration=_ns(finished.time_to_first_token),
        eval_count=finished.completion_tokens,
        eval_duration=_ns(finished.generation_time - finished.time_to_first_token),
    )
    return out


def loaded(kind: Kind, model: str, created_at: str) -> dict[str, Any]:
    """Ollama's answer to an empty prompt or message list: the model is loaded, nothing generated."""
    return {**chunk(kind, model, created_at, ""), "done": True, "done_reason": "load"}


def error_body(message: str) -> dict[str, str]:
    return {"error": message}


def ndjson(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def ndjson_template(obj: dict[str, Any]) -> Callable[[str], bytes]:
    """``ndjson(obj)`` with ``HOLE`` (one string value in ``obj``) replaced by a text, without the dict
    work per token (as ``streaming.sse_template`` does for SSE)."""
    parts = ndjson(obj).decode().split(encode_basestring(HOLE))
    if len(parts) != 2:
        raise ValueError(f"an NDJSON template needs exactly one HOLE, found {len(parts) - 1}")
    head, tail = parts

    def render(text: str) -> bytes:
        return f"{head}{encode_basestring(text)}{tail}".encode()

    return render


def details(info: ModelInfo | None) -> dict[str, Any]:
    """``details`` of a model; only what this node knows (its own model's architecture)."""
    family = info.architecture if info is not None else ""
    return {
        "parent_model": "",
        "format": "gguf",
        "family": family,
        "families": [family] if family else None,
        "parameter_size": "",
        "quantization_level": "",
    }


def tag_entry(name: str, modified_at: str, info: ModelInfo | None) -> dict[str, Any]:
    """One model of ``/api/tags`` (sizes only for the model this node holds)."""
    out: dict[str, Any] = {"name": name, "model": name, "modified_at": modified_at, "details": details(info)}
    if info is not None:
        out["size"] = info.size_bytes
    return out


def ps_entry(name: str, info: ModelInfo, on_gpu: bool) -> dict[str, Any]:
    """The model loaded in this node for ``/api/ps`` (it stays loaded: no expiry)."""
    return {
        "name": name,
        "model": name,
        "size": info.size_bytes,
        "size_vram": info.size_bytes if on_gpu else 0,
        "details": details(info),
        "context_length": info.n_ctx_slot,
    }


def show_body(
    name: str, info: ModelInfo, template: str, modified_at: str, embedding: bool = False
) -> dict[str, Any]:
    arch = info.architecture
    model_info: dict[str, Any] = {"general.architecture": arch, "general.name": name}
    if info.n_ctx_train is not None:
        model_info[f"{arch}.context_length"] = info.n_ctx_train
    return {
        "modelfile": f"# served by LlamaNet\nFROM {info.path.name}\n",
        "parameters": f"num_ctx {info.n_ctx_slot}",
        "template": template,
        "details": details(info),
        "model_info": model_info,
        "capabilities": ["completion", "embedding"] if embedding else ["completion"],
        "modified_at": modified_at,
    }
