import shutil
import subprocess
from pathlib import Path

import pytest

from llamanet.engine import backends
from llamanet.engine.backends import Device, Found, decide, summary

CPU = Device("CPU", "Intel Xeon", "cpu", "cpu", 32 * 2**30, 30 * 2**30)
H200 = Device("CUDA0", "NVIDIA H200", "gpu", "cuda", 140 * 2**30, 139 * 2**30)


def test_gpu_device_gets_the_requested_layers() -> None:
    c = decide(Found((CPU, H200), ("cuda",)), -1)
    assert (c.backend, c.gpu_layers, c.requested_gpu_layers, c.note) == ("cuda", -1, -1, None)
    assert summary(c) == "cuda: NVIDIA H200 (140.0 GiB)"
    assert c.as_dict()["devices"][1] == {
        "name": "CUDA0",
        "description": "NVIDIA H200",
        "type": "gpu",
        "backend": "cuda",
        "memory_total": 140 * 2**30,
        "memory_free": 139 * 2**30,
    }


def test_cpu_only_build_asked_for_gpu_layers_says_so_and_serves_on_cpu() -> None:
    c = decide(Found((CPU,)), 20)
    assert (c.backend, c.gpu_layers, c.requested_gpu_layers) == ("cpu", 0, 20)
    assert c.note == "N_GPU_LAYERS=20 but no GPU: this llama.cpp build has no GPU backend; serving on CPU"
    assert summary(c) == "cpu"


def test_cuda_build_without_driver_names_the_loader_error() -> None:
    error = "libcuda.so.1: cannot open shared object file: No such file or directory"
    found = Found((CPU,), ("cuda",), (error,))
    c = decide(found, -1)
    assert c.backend == "cpu" and c.gpu_layers == 0
    assert c.note == (
        "N_GPU_LAYERS=-1 but no GPU: the cuda backend did not load: libcuda.so.1: cannot open shared "
        "object file: No such file or directory; serving on CPU"
    )


def test_cuda_backend_loaded_without_devices() -> None:
    c = decide(Found((CPU,), ("cuda",)), 5)
    assert c.note is not None and "the cuda backend found no device" in c.note and c.gpu_layers == 0


def test_no_gpu_layers_asked_no_line() -> None:
    assert decide(Found((CPU,), ("cuda",), ("x",)), 0).note is None


def test_probe_reads_this_build() -> None:
    """The installed (CPU) llama.cpp: a CPU device and no GPU library."""
    found = backends.probe()
    assert any(d.kind == "cpu" and d.backend == "cpu" and d.memory_total > 0 for d in found.devices)
    assert found.libraries == () and found.load_errors == ()


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc to make a backend library")
def test_probe_reports_why_a_gpu_backend_library_does_not_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real libggml-cuda.so that needs a driver library this machine lacks (as on a host without the
    NVIDIA driver): probe names the loader's error instead of ggml's silence."""
    (tmp_path / "drv.c").write_text("int cuInit(unsigned f) { return (int) f; }\n")
    backend = "int cuInit(unsigned); int ggml_backend_score(void) { return cuInit(0); }\n"
    (tmp_path / "be.c").write_text(backend)
    run = lambda *a: subprocess.run(a, check=True, cwd=tmp_path)  # noqa: E731
    run("gcc", "-shared", "-fPIC", "-Wl,-soname,libfakedriver.so.1", "-o", "libfakedriver.so", "drv.c")
    lib = tmp_path / "lib"
    lib.mkdir()
    run("gcc", "-shared", "-fPIC", "-o", str(lib / "libggml-cuda.so"), "be.c", "-L.", "-lfakedriver")
    (tmp_path / "libfakedriver.so").unlink()
    monkeypatch.setattr(backends, "_lib_dir", lambda: lib)
    found = backends.probe()
    assert found.libraries == ("cuda",)
    assert len(found.load_errors) == 1 and "libfakedriver.so.1" in found.load_errors[0]
    note = decide(found, -1).note
    assert note is not None and "libfakedriver.so.1: cannot open shared object file" in note


def test_probe_without_llama_cpp_libraries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "_ggml", lambda: None)
    monkeypatch.setattr(backends, "_lib_dir", lambda: None)
    assert backends.probe() == Found()
    backends.load_backends()  # nothing to load from: no error
    assert decide(backends.probe(), 0).backend == "cpu"
