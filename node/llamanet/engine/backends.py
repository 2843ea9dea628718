"""The compute backend the engine runs on: ggml's backend and device registries, read through the
libraries llama_cpp loaded, and what a node asking for GPU layers gets.

A build with ``GGML_BACKEND_DL=ON`` (the CUDA image) has no backend until one is loaded from
``llama_cpp/lib``: ``load_backends`` loads them from there (ggml itself only looks beside the Python
executable and in the working directory). ``libggml-cuda.so`` loads only where the NVIDIA driver
(``libcuda.so.1``) is present; without it the CPU backend serves, and ``decide`` says so in one line.

``decide`` is pure (what was found -> backend, devices, layers, the line to log); ``probe`` reads the
registries and is the only part that calls C.
"""

from __future__ import annotations

import ctypes
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# enum ggml_backend_dev_type (ggml-backend.h)
DEVICE_KINDS = {0: "cpu", 1: "gpu", 2: "igpu", 3: "accel"}
GPU_KINDS = frozenset({"gpu", "igpu"})
# backend libraries a build may carry beside libggml.so (GGML_BACKEND_DL): the GPU ones
GPU_LIBRARIES = ("cuda", "hip", "vulkan", "sycl", "metal", "musa", "opencl")


@dataclass(frozen=True)
class Device:
    name: str  # "CUDA0", "CPU"
    description: str  # "NVIDIA H200", the CPU's model name
    kind: str  # cpu | gpu | igpu | accel
    backend: str  # the registry it belongs to, lower case: "cuda", "cpu"
    memory_total: int  # bytes
    memory_free: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "type": self.kind,
            "backend": self.backend,
            "memory_total": self.memory_total,
            "memory_free": self.memory_free,
        }


@dataclass(frozen=True)
class Found:
    """What ``probe`` read: the registries' devices and the GPU backend libraries that did not load."""

    devices: tuple[Device, ...] = ()
    libraries: tuple[str, ...] = ()  # GPU backend libraries present in the build: ("cuda",)
    load_errors: tuple[str, ...] = ()  # why one of those did not load: "libcuda.so.1: cannot open ..."


@dataclass(frozen=True)
class Compute:
    backend: str  # "cuda" when a GPU device serves, else "cpu"
    devices: tuple[Device, ...]
    gpu_layers: int  # what llama.cpp is given: 0 on CPU, -1 all layers
    requested_gpu_layers: int  # N_GPU_LAYERS
    note: str | None  # the one line logged when GPU layers were asked for and no GPU serves

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "devices": [d.as_dict() for d in self.devices],
            "gpu_layers": self.gpu_layers,
            "requested_gpu_layers": self.requested_gpu_layers,
            "note": self.note,
        }


def decide(found: Found, requested_gpu_layers: int) -> Compute:
    """The backend that serves and the layers it gets: GPU layers only where a GPU device was found."""
    gpus = tuple(d for d in found.devices if d.kind in GPU_KINDS)
    if gpus:
        return Compute(gpus[0].backend, found.devices, requested_gpu_layers, requested_gpu_layers, None)
    note = None
    if requested_gpu_layers != 0:
        if found.load_errors:
            why = f"the {'/'.join(found.libraries)} backend did not load: {found.load_errors[0]}"
        elif found.libraries:
            why = f"the {'/'.join(found.libraries)} backend found no device"
        else:
            why = "this llama.cpp build has no GPU backend"
        note = f"N_GPU_LAYERS={requested_gpu_layers} but no GPU: {why}; serving on CPU"
    return Compute("cpu", found.devices, 0, requested_gpu_layers, note)


def _lib_dir() -> Path | None:
    try:
        import llama_cpp.llama_cpp as low
    except ImportError:
        return None
    return Path(low.__file__).parent / "lib"


def _ggml() -> ctypes.CDLL | None:
    """libllama as llama_cpp loaded it: ggml's calls resolve through it to the libggml libllama itself
    uses. Not ``llama_cpp._ggml.libggml``: a wheel holds libggml.so and libggml.so.0 as two copies of
    one file, and loading the other copy gives a second, empty backend registry."""
    try:
        import llama_cpp.llama_cpp as low

        return low._lib  # type: ignore[no-any-return]
    except (ImportError, AttributeError):
        return None


def _fn(lib: ctypes.CDLL, name: str, restype: Any, *argtypes: Any) -> Any:
    f = lib[name]  # a fresh function object: its types are not shared with llama_cpp's
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


def load_backends() -> None:
    """Load the dynamic backends from llama_cpp's own lib folder (GGML_BACKEND_DL builds); a no-op
    where the backends are linked in (the registry is not empty)."""
    lib, lib_dir = _ggml(), _lib_dir()
    if lib is None or lib_dir is None:
        return
    try:
        count = _fn(lib, "ggml_backend_reg_count", ctypes.c_size_t)
        load_all = _fn(lib, "ggml_backend_load_all_from_path", None, ctypes.c_char_p)
    except AttributeError:
        return
    if count() == 0:
        load_all(str(lib_dir).encode())
        log.debug("loaded %d ggml backend(s) from %s", count(), lib_dir)


def _gpu_libraries(lib_dir: Path | None) -> list[tuple[str, Path]]:
    if lib_dir is None or not lib_dir.is_dir():
        return []
    return [(n, p) for n in GPU_LIBRARIES for p in sorted(lib_dir.glob(f"libggml-{n}*.so"))]


def probe() -> Found:
    """Read ggml's device registry (after ``load_backends``); empty where the API is missing."""
    lib = _ggml()
    devices: list[Device] = []
    registered: set[str] = set()
    if lib is not None:
        try:
            vp, sz = ctypes.c_void_p, ctypes.c_size_t
            dev_count = _fn(lib, "ggml_backend_dev_count", sz)
            dev_get = _fn(lib, "ggml_backend_dev_get", vp, sz)
            dev_name = _fn(lib, "ggml_backend_dev_name", ctypes.c_char_p, vp)
            dev_desc = _fn(lib, "ggml_backend_dev_description", ctypes.c_char_p, vp)
            dev_type = _fn(lib, "ggml_backend_dev_type", ctypes.c_int, vp)
            dev_reg = _fn(lib, "ggml_backend_dev_backend_reg", vp, vp)
            reg_name = _fn(lib, "ggml_backend_reg_name", ctypes.c_char_p, vp)
            dev_memory = _fn(lib, "ggml_backend_dev_memory", None, vp, ctypes.POINTER(sz), ctypes.POINTER(sz))
        except AttributeError:
            lib = None
        else:
            for i in range(dev_count()):
                dev = dev_get(i)
                free, total = sz(0), sz(0)
                dev_memory(dev, ctypes.byref(free), ctypes.byref(total))
                backend = (reg_name(dev_reg(dev)) or b"?").decode(errors="replace").lower()
                registered.add(backend)
                devices.append(
                    Device(
                        name=(dev_name(dev) or b"").decode(errors="replace"),
                        description=(dev_desc(dev) or b"").decode(errors="replace").strip(),
                        kind=DEVICE_KINDS.get(dev_type(dev), "other"),
                        backend=backend,
                        memory_total=total.value,
                        memory_free=free.value,
                    )
                )
    libraries, errors = [], []
    for name, path in _gpu_libraries(_lib_dir()):
        libraries.append(name)
        if name not in registered:
            try:  # ggml loads backends silently in release builds: ask the dynamic loader why
                ctypes.CDLL(str(path))
            except OSError as exc:
                errors.append(str(exc).replace(str(path) + ": ", ""))
    return Found(tuple(devices), tuple(dict.fromkeys(libraries)), tuple(errors))


def detect(requested_gpu_layers: int) -> Compute:
    """Load the backends, read the devices and decide; logs the one line when no GPU serves."""
    load_backends()
    compute = decide(probe(), requested_gpu_layers)
    if compute.note:
        log.warning("%s", compute.note)
    return compute


def summary(compute: Compute) -> str:
    """``cuda: NVIDIA H200 (139.8 GiB)`` or ``cpu``, for log lines."""
    gpus = [d for d in compute.devices if d.kind in GPU_KINDS]
    if compute.backend == "cpu" or not gpus:
        return "cpu"
    names = ", ".join(f"{d.description or d.name} ({d.memory_total / 2**30:.1f} GiB)" for d in gpus)
    return f"{compute.backend}: {names}"
