"""llama.cpp's functions bound so that calling them keeps the GIL (``ctypes.PyDLL``): ``held.<name>``.

llama-cpp-python binds every function through ``ctypes.CDLL``, which releases the GIL around each call
and takes it back afterwards. For a call of a few microseconds that hand-over is the expensive part:
whichever other thread grabs the GIL meanwhile keeps it until it blocks or the switch interval ends.
On the decode thread that stalls llama.cpp's workers; on the event loop it delays every request.
So short calls (tokenizing a prompt, building and freeing sampler chains, sampling, reading logits)
go through ``held``; ``llama_decode`` and grammar parsing keep releasing the GIL. ``held`` takes each
function's signature from llama-cpp-python's own binding; if the library handle cannot be found, it
falls back to those bindings.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

import llama_cpp


class _GilHolding:
    def __init__(self) -> None:
        self._lib = getattr(getattr(llama_cpp, "llama_cpp", None), "_lib", None)
        self._py = None if self._lib is None else ctypes.PyDLL(self._lib._name, handle=self._lib._handle)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if self._py is None or self._lib is None:
            fn: Callable[..., Any] = getattr(llama_cpp, name)
        else:
            source = getattr(self._lib, name)
            bound = getattr(self._py, name)
            bound.argtypes, bound.restype = source.argtypes, source.restype
            fn = bound
        setattr(self, name, fn)  # looked up once
        return fn


held: Any = _GilHolding()
