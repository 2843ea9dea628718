"""Chat with an OpenAI-compatible endpoint through the `openai` SDK, streaming and not; print JSON.

openai-chat.py BASE_URL MODEL [PROMPT]
"""

import json
import sys

from openai import OpenAI


def main() -> None:
    base_url, model = sys.argv[1], sys.argv[2]
    prompt = sys.argv[3] if len(sys.argv) > 3 else "What is the capital of France? Answer in one word."
    client = OpenAI(base_url=base_url, api_key="not-needed", max_retries=5, timeout=120)
    messages = [{"role": "user", "content": prompt}]
    full = client.chat.completions.create(model=model, messages=messages, max_tokens=24, temperature=0)
    chunks = []
    for chunk in client.chat.completions.create(
        model=model, messages=messages, max_tokens=24, temperature=0, stream=True
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            chunks.append(chunk.choices[0].delta.content)
    models = [m.id for m in client.models.list()]
    print(
        json.dumps(
            {
                "models": models,
                "answer": full.choices[0].message.content,
                "finish_reason": full.choices[0].finish_reason,
                "usage": full.usage.completion_tokens if full.usage else None,
                "streamed": "".join(chunks),
                "stream_chunks": len(chunks),
            }
        )
    )


if __name__ == "__main__":
    main()
