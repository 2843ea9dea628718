from llamanet.cli.check_cmd import compute_line
from llamanet.engine.backends import Device, Found, decide

CPU = Device("CPU", "Intel Xeon", "cpu", "cpu", 2**34, 2**34)
H200 = Device("CUDA0", "NVIDIA H200", "gpu", "cuda", 150 * 10**9, 149 * 10**9)


def test_gpu_node() -> None:
    info = {"compute": decide(Found((CPU, H200), ("cuda",)), -1).as_dict()}
    assert compute_line(info) == "cuda, NVIDIA H200 (139.7 GiB), all layers on the GPU"
    info = {"compute": decide(Found((CPU, H200), ("cuda",)), 12).as_dict()}
    assert compute_line(info).endswith(", 12 layers on the GPU")


def test_cpu_node_that_asked_for_a_gpu_says_why() -> None:
    info = {"compute": decide(Found((CPU,), ("cuda",), ("libcuda.so.1: cannot open",)), -1).as_dict()}
    assert compute_line(info) == (
        "cpu (N_GPU_LAYERS=-1 but no GPU: the cuda backend did not load: libcuda.so.1: cannot open; "
        "serving on CPU)"
    )
    assert compute_line({"compute": decide(Found((CPU,)), 0).as_dict()}) == "cpu"


def test_older_or_loading_node_and_junk() -> None:
    for junk in ({}, {"compute": None}, {"compute": "cuda"}, [], "x", None):
        assert compute_line(junk).startswith("unknown")
    assert compute_line({"compute": {"backend": "cuda", "devices": "junk"}}) == "cpu"
