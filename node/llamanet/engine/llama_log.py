"""Routes llama.cpp's log lines into Python logging (logger ``llama.cpp``) with the right levels.

llama-cpp-python's own callback maps ggml's levels as they were numbered long ago; in the llama.cpp we
build (ggml: NONE=0, DEBUG=1, INFO=2, WARN=3, ERROR=4, CONT=5) that shows every info line as a warning.
"""

from __future__ import annotations

import ctypes
import logging

import llama_cpp

log = logging.getLogger("llama.cpp")
_LEVELS = {0: logging.INFO, 1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING, 4: logging.ERROR}
_CONT = 5
_last = logging.INFO


@llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
def _callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
    global _last
    py_level = _last if level == _CONT else _LEVELS.get(level, logging.INFO)
    _last = py_level
    if log.isEnabledFor(py_level):
        message = text.decode("utf-8", errors="replace").rstrip()
        if message:
            log.log(py_level, message)


def install() -> None:
    """Take over llama.cpp's logging; by default only its warnings and errors are shown."""
    llama_cpp.llama_log_set(_callback, ctypes.c_void_p(0))
    if log.level == logging.NOTSET:
        log.setLevel(logging.WARNING)
