"""Short llama.cpp functions bound so that calling them keeps the GIL (``ctypes.PyDLL``).

llama-cpp-python binds every function through ``ctypes.CDLL``, which releases the GIL around each call
and takes it back afterwards. For a call of a few microseconds that hand-over is the expensive part:
if the event loop thread grabs the GIL meanwhile, the decode thread waits until the loop blocks or the
switch interval ends, and llama.cpp's worker threads wait with it. The decode thread uses these
bindings between two ``llama_decode`` calls; ``llama_decode`` itself keeps releasing the GIL.
Where the library handle cannot be found, the ordinary bindings are used.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any, cast

import llama_cpp


def _bind(name: str, argtypes: list[Any], restype: Any) -> Callable[..., Any]:
    lib = getattr(getattr(llama_cpp, "llama_cpp", None), "_lib", None)
    if lib is None:
        return cast(Callable[..., Any], getattr(llama_cpp, name))
    fn = getattr(ctypes.PyDLL(lib._name, handle=lib._handle), name)
    fn.argtypes = argtypes
    fn.restype = restype
    return cast(Callable[..., Any], fn)


sampler_sample = _bind(
    "llama_sampler_sample", [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32], ctypes.c_int32
)
get_logits_ith = _bind(
    "llama_get_logits_ith", [ctypes.c_void_p, ctypes.c_int32], ctypes.POINTER(ctypes.c_float)
)
