"""Chat templates: turn OpenAI-style messages into a prompt.

Choice, in order: an explicit override (``--chat-format``), the GGUF's own ``tokenizer.chat_template``,
else a built-in template: the architecture's turn format for instruction-tuned models, or a few-shot
plain-text transcript for base (pretrained-only) models, which never learned turn tokens and only
echo them (as llama-server's fallback shows). Templates are Jinja, rendered in a sandbox exactly
like the Hugging Face templates they mirror (``tojson`` as transformers defines it).

Tools: a template that references ``tools`` renders them and tool turns itself; for any other the
messages are rewritten into the generic format first (``tool_format``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from jinja2 import TemplateError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from llamanet.engine.errors import InvalidRequestError
from llamanet.engine.tool_format import Function, generic_messages, template_messages

CHATML = (
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# Gemma's turn format: no system role, so a system message is folded into the first user turn.
GEMMA = (
    "{{ bos_token }}"
    "{% if messages[0]['role'] == 'system' %}{% set prefix = messages[0]['content'] + '\n\n' %}"
    "{% set loop_messages = messages[1:] %}{% else %}{% set prefix = '' %}"
    "{% set loop_messages = messages %}{% endif %}"
    "{% for m in loop_messages %}{% set role = 'model' if m['role'] == 'assistant' else 'user' %}"
    "{{ '<start_of_turn>' + role + '\n' + (prefix if loop.first else '') + (m['content'] | trim)"
    " + '<end_of_turn>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)

LLAMA3 = (
    "{{ bos_token }}{% for m in messages %}"
    "{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\n\n' + (m['content'] | trim) + '<|eot_id|>' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
    "{% endif %}"
)

LLAMA2 = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}"
    "{% set sys = '<<SYS>>\n' + messages[0]['content'] + '\n<</SYS>>\n\n' %}"
    "{% set loop_messages = messages[1:] %}{% else %}{% set sys = '' %}{% set loop_messages = messages %}"
    "{% endif %}{% for m in loop_messages %}{% if m['role'] == 'user' %}"
    "{{ '[INST] ' + (sys if loop.first else '') + (m['content'] | trim) + ' [/INST]' }}"
    "{% else %}{{ ' ' + (m['content'] | trim) + ' ' + eos_token }}{% endif %}{% endfor %}"
)

PHI3 = (
    "{% for m in messages %}{{ '<|' + m['role'] + '|>\n' + m['content'] + '<|end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)

# For base models: a transcript with one worked example, so the model continues as the assistant.
TRANSCRIPT = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] | trim }}"
    "{% set loop_messages = messages[1:] %}{% else %}"
    "{{ 'The following is a conversation between a user and a helpful assistant. '"
    " + 'The assistant answers accurately and concisely.' }}{% set loop_messages = messages %}{% endif %}"
    "{{ '\n\nUser: What is the capital of Italy?\nAssistant: The capital of Italy is Rome.\n\n' }}"
    "{% for m in loop_messages %}{% if m['role'] == 'assistant' %}"
    "{{ 'Assistant: ' + (m['content'] | trim) + '\n\n' }}"
    "{% else %}{{ 'User: ' + (m['content'] | trim) + '\n' }}"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)

BUILTIN: dict[str, tuple[str, tuple[str, ...]]] = {
    "transcript": (TRANSCRIPT, ("\nUser:", "\n\n")),
    "chatml": (CHATML, ("<|im_end|>",)),
    "gemma": (GEMMA, ("<end_of_turn>",)),
    "llama-3": (LLAMA3, ("<|eot_id|>",)),
    "llama-2": (LLAMA2, ()),
    "phi-3": (PHI3, ("<|end|>",)),
}

ARCHITECTURE_DEFAULTS = {
    "gemma": "gemma",
    "gemma2": "gemma",
    "gemma3": "gemma",
    "gemma3n": "gemma",
    "llama": "llama-3",
    "phi3": "phi-3",
    "qwen2": "chatml",
    "qwen3": "chatml",
}

GGUF = "gguf"
ROLES = ("system", "user", "assistant", "tool")


def _tojson(
    value: Any,
    ensure_ascii: bool = False,
    indent: int | None = None,
    separators: Any = None,
    sort_keys: bool = False,
) -> str:
    """Hugging Face's ``tojson``: plain ``json.dumps`` (Jinja's own escapes ``<`` ``>`` ``&`` ``'``)."""
    return json.dumps(
        value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = _tojson
    return env


@dataclass(frozen=True)
class ChatTemplate:
    name: str
    source: str
    stop: tuple[str, ...]
    bos_token: str
    eos_token: str

    @cached_property
    def supports_tools(self) -> bool:
        """Whether the template renders ``tools`` itself."""
        try:
            return "tools" in meta.find_undeclared_variables(_environment().parse(self.source))
        except TemplateError:
            return False

    def render(self, messages: Sequence[dict[str, Any]], tools: Sequence[Function] | None = None) -> str:
        """The prompt for ``messages``; ``tools``: the functions offered (None or empty: none)."""
        if not messages:
            raise InvalidRequestError("messages must not be empty", param="messages")
        for i, m in enumerate(messages):
            if m.get("role") not in ROLES:
                raise InvalidRequestError(
                    f"messages[{i}].role must be one of {', '.join(ROLES)}", param=f"messages[{i}].role"
                )
        extra: dict[str, Any] = {}
        if self.supports_tools:
            messages = template_messages(messages)
            if tools:
                extra["tools"] = [t.openai() for t in tools]
        else:
            messages = generic_messages(messages, tools)
        env = _environment()

        def raise_exception(message: str) -> None:
            raise InvalidRequestError(f"chat template rejected the messages: {message}", param="messages")

        def strftime_now(fmt: str) -> str:
            return datetime.now().strftime(fmt)

        context: dict[str, Any] = {
            "messages": [dict(m) for m in messages],
            "add_generation_prompt": True,
            "bos_token": self.bos_token,
            "eos_token": self.eos_token,
            "raise_exception": raise_exception,
            "strftime_now": strftime_now,
            **extra,
        }
        try:
            return env.from_string(self.source).render(**context)
        except InvalidRequestError:
            raise
        except TemplateError as exc:
            raise InvalidRequestError(f"chat template failed: {exc}", param="messages") from exc


def choose_template(
    *,
    gguf_template: str | None,
    architecture: str,
    override: str | None,
    bos_token: str,
    eos_token: str,
    instruct: bool = True,
) -> ChatTemplate:
    """Pick the template for a model; ``override`` is a built-in name or ``"gguf"``.

    ``instruct`` says whether a model without an embedded template is instruction-tuned.
    """
    stop_eos = (eos_token,) if eos_token else ()
    if override and override != GGUF:
        if override not in BUILTIN:
            known = ", ".join([GGUF, *BUILTIN])
            raise ValueError(f"unknown chat format {override!r}; choose one of: {known}")
        source, stop = BUILTIN[override]
        return ChatTemplate(override, source, stop + stop_eos, bos_token, eos_token)
    if gguf_template:
        return ChatTemplate(GGUF, gguf_template, stop_eos, bos_token, eos_token)
    if override == GGUF:
        raise ValueError("--chat-format gguf was asked for, but the model file has no chat template")
    name = ARCHITECTURE_DEFAULTS.get(architecture, "chatml") if instruct else "transcript"
    source, stop = BUILTIN[name]
    return ChatTemplate(name, source, stop + stop_eos, bos_token, eos_token)
