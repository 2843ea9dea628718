"""LangChain's ``bind_tools`` against a node (conftest's ``tool_swarm``): a forced call, invoked and
streamed, then its result sent back as a tool turn."""

from __future__ import annotations

import pytest

from tests.integration.conftest import TOOLS

pytestmark = pytest.mark.model


def test_langchain_bind_tools(tool_swarm: dict[str, str]) -> None:
    from langchain_core.messages import HumanMessage, ToolMessage
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    @tool
    def get_weather(city: str) -> str:
        """Get the current weather in a city."""
        return f"18 degrees in {city}"

    llm = ChatOpenAI(
        base_url=f"{tool_swarm['tools']}/v1",
        api_key="unused",
        model=TOOLS,
        temperature=0,
        max_tokens=60,
        max_retries=0,
    )  # type: ignore[call-arg]
    bound = llm.bind_tools([get_weather], tool_choice="get_weather")
    question = HumanMessage("What is the weather in Paris?")
    ai = bound.invoke([question])
    (call,) = ai.tool_calls  # type: ignore[attr-defined]
    assert call["name"] == "get_weather" and isinstance(call["args"]["city"], str)
    chunks = list(bound.stream([question]))
    merged = chunks[0]
    for c in chunks[1:]:
        merged += c  # type: ignore[assignment]
    assert [(c["name"], c["args"]) for c in merged.tool_calls] == [("get_weather", call["args"])]  # type: ignore[attr-defined]
    # the result goes back as a tool turn; the model answers (auto: a call or text, both accepted)
    result = ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"])
    final = llm.bind_tools([get_weather]).invoke([question, ai, result])
    assert final.response_metadata["finish_reason"] in ("stop", "length", "tool_calls")
