import pytest

from llamanet.engine.chat import choose_template
from llamanet.engine.errors import InvalidRequestError

SMOL = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
    "'<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def tmpl(gguf: str | None = None, arch: str = "llama", override: str | None = None):  # type: ignore[no-untyped-def]
    return choose_template(
        gguf_template=gguf, architecture=arch, override=override, bos_token="<bos>", eos_token="<eos>"
    )


def test_gguf_template_is_preferred() -> None:
    t = tmpl(SMOL)
    assert t.name == "gguf"
    assert (
        t.render([{"role": "user", "content": "Hi"}])
        == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    )
    assert t.stop == ("<eos>",)


def test_gemma_without_template_uses_gemma_turns() -> None:
    t = tmpl(None, arch="gemma3")
    assert t.name == "gemma"
    prompt = t.render(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Bye"},
        ]
    )
    assert prompt == (
        "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"
        "<start_of_turn>model\nHello!<end_of_turn>\n"
        "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n"
    )
    assert "<end_of_turn>" in t.stop


def test_override_beats_gguf_and_unknown_arch_falls_back_to_chatml() -> None:
    assert tmpl(SMOL, override="gemma").name == "gemma"
    assert tmpl(None, arch="mystery").name == "chatml"
    assert tmpl(SMOL, override="gguf").name == "gguf"


def test_bad_overrides() -> None:
    with pytest.raises(ValueError, match="unknown chat format"):
        tmpl(SMOL, override="nope")
    with pytest.raises(ValueError, match="no chat template"):
        tmpl(None, override="gguf")


def test_invalid_roles_and_empty_messages() -> None:
    t = tmpl(SMOL)
    with pytest.raises(InvalidRequestError, match="role must be one of"):
        t.render([{"role": "wizard", "content": "x"}])
    with pytest.raises(InvalidRequestError, match="must not be empty"):
        t.render([])


def test_template_raise_exception_becomes_invalid_request() -> None:
    t = tmpl("{{ raise_exception('roles must alternate') }}")
    with pytest.raises(InvalidRequestError, match="roles must alternate"):
        t.render([{"role": "user", "content": "x"}])


def test_base_model_without_template_gets_a_transcript() -> None:
    t = choose_template(
        gguf_template=None,
        architecture="gemma3",
        override=None,
        bos_token="<bos>",
        eos_token="<eos>",
        instruct=False,
    )
    assert t.name == "transcript"
    prompt = t.render(
        [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": "Who wrote Hamlet?"},
        ]
    )
    assert prompt.startswith("<bos>The following is a conversation")
    assert prompt.endswith("User: Hi\nAssistant: Hello.\n\nUser: Who wrote Hamlet?\nAssistant:")
    assert "\nUser:" in t.stop
    with_system = t.render(
        [{"role": "system", "content": "Talk like a pirate."}, {"role": "user", "content": "x"}]
    )
    assert with_system.startswith("<bos>Talk like a pirate.\n\n")
