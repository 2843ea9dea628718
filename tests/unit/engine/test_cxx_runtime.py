"""The engine opens the C++ runtime globally before llama.cpp's libraries: in a fresh interpreter a
libstdc++ symbol is not in the global scope, after importing the engine package it is (the order a
C++ program like llama-server has)."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import ctypes
glob = lambda: hasattr(ctypes.CDLL(None), "_ZNSt6locale7classicEv")  # std::locale::classic()
before = glob()
import llamanet.engine
print(before, glob())
"""


def test_importing_the_engine_puts_libstdcxx_in_the_global_scope() -> None:
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]
