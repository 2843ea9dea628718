"""LlamaNet operator."""
