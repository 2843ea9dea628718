"""Root of LlamaNet's exception tree; each package derives its own small tree from it."""


class LlamaNetError(Exception):
    """Base class of every error LlamaNet raises on purpose."""
