"""The C++ runtime in the process's global scope before llama.cpp's libraries are opened.

llama-cpp-python opens libllama with ``RTLD_LOCAL``, so a C++ runtime symbol libllama uses binds, in
libllama's own lookup scope, to the first of its dependencies that defines it, which can be libggml
ahead of libstdc++. A C++ program (llama-server) has libstdc++ in its global scope from the start, and
every library's references bind to that one copy. ``load_globally`` gives the Python process the same
order. Seen without it on an H200 host (llama.cpp built there with CUDA, Python 3.12): llama-server
served, the node crashed in ``std::regex`` while loading the tokenizer (docs/benchmarks.md, "GPU check").
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)


def load_globally() -> None:
    """Open libstdc++ with ``RTLD_GLOBAL`` (again: a no-op; where it cannot be found or opened too)."""
    for name in ("libstdc++.so.6", ctypes.util.find_library("stdc++")):
        if not name:
            continue
        try:
            ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)
            return
        except OSError as exc:  # not this name; none at all: a static build, nothing to order
            log.debug("C++ runtime %s not opened: %s", name, exc)
