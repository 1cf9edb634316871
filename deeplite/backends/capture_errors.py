"""Why capturing a step as a CUDA graph failed, in words (import-free: no CuPy).

deeplite.jit's CUDA-graph replay logs it when a step cannot be captured (it then replays from
Python).
"""


# What CUDA says when a captured step waits for the GPU or copies between host and device.
_HOST_SYNC_SIGNS = ("cudaErrorStreamCaptureUnsupported", "cudaErrorStreamCaptureImplicit",
                    "cudaErrorStreamCaptureInvalidated", "not permitted when stream is capturing")


def capture_failure(error: BaseException) -> str:
    """The message for a step whose capture raised ``error``, naming the cause it points to."""
    text = f"{type(error).__name__}: {error}"
    head = f"capturing the step as a CUDA graph failed: {text}"
    if "cuBLAS API during stream capture" in text:
        return (f"{head}. A CuPy cuBLAS call (cupy.matmul, cupy.dot, cupy.linalg, or @ on raw "
                f"CuPy arrays) ran inside the step, and CuPy refuses cuBLAS during capture; use "
                f"deeplite's matmul (@ on tensors, Linear), which captures through cuBLAS directly")
    if type(error).__name__ == "CublasError" or "find libcublas" in text:
        return f"{head}. deeplite's capture-time GEMM path (cuBLAS called directly) failed"
    if any(sign in text for sign in _HOST_SYNC_SIGNS):
        return (f"{head}. The step waited for the GPU or moved data to or from the host: a host "
                f"sync (float(loss), .item(), .numpy(), print) or host data (a tensor made from "
                f"Python or NumPy values) inside the step")
    return head
