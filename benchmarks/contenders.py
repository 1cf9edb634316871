"""Contenders: deeplite on each selected backend, and the peers NumPy and PyTorch (when installed).

A case describes its work once per framework; a Contender turns host data into that framework's
arrays (``put``) and waits for its device (``sync``), so cases never branch on the device.
"""
import importlib
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np


@dataclass(frozen=True)
class Contender:
    """One competitor in a case: a framework on a device."""

    name: str  # as shown in the report: "deeplite[cpu]", "numpy", "torch", "torch[cuda]"
    framework: str  # "deeplite", "numpy" or "torch"
    device: str  # deeplite's backend name; "cpu" or "cuda" for torch; "host" for NumPy

    @property
    def on_gpu(self) -> bool:
        """Whether the contender's arrays live on a GPU (its peers are then GPU peers)."""
        return self.device == "cuda"

    def put(self, array: np.ndarray, requires_grad: bool = False):
        """A copy of the host ``array`` as this framework's array on its device."""
        if self.framework == "deeplite":
            import deeplite
            return deeplite.tensor(array, device=self.device, requires_grad=requires_grad)
        if self.framework == "torch":
            import torch
            return torch.tensor(array, device=self.device, requires_grad=requires_grad)
        return np.array(array, copy=True)

    def sync(self) -> None:
        """Wait for queued device work before a clock is read (a no-op on the host)."""
        if not self.on_gpu:
            return
        if self.framework == "torch":
            import torch
            torch.cuda.synchronize()
            return
        import deeplite
        cuda = deeplite.cuda
        if hasattr(cuda, "synchronize"):
            cuda.synchronize()
        else:  # before deeplite.cuda grows synchronize(): the backend's array library waits
            deeplite.backends.get("cuda").xp.cuda.get_current_stream().synchronize()


def backend_problem(name: str) -> Optional[str]:
    """Why deeplite's backend ``name`` cannot run here, or None when it can."""
    import deeplite

    try:
        return deeplite.backends.why_unavailable(name)
    except Exception as error:  # a half-built extension can fail in any way; report, don't crash
        return f"{type(error).__name__}: {error}"


def load_torch():
    """The torch module, or None when PyTorch is not installed (it is optional, never required)."""
    try:
        return importlib.import_module("torch")
    except ImportError:
        return None


def select(backends: List[str], peers: List[str]) -> Tuple[List[Contender], List[str]]:
    """The contenders for the requested deeplite backends and peers, and why any were skipped."""
    chosen, skipped = [], []
    for backend in backends:
        reason = backend_problem(backend)
        if reason is None:
            chosen.append(Contender(f"deeplite[{backend}]", "deeplite", backend))
        else:
            skipped.append(f"deeplite[{backend}] skipped: {reason}")
    if "numpy" in peers:
        chosen.append(Contender("numpy", "numpy", "host"))
    if "torch" in peers:
        torch = load_torch()
        if torch is None:
            skipped.append("torch skipped: PyTorch is not installed (pip install torch to add it)")
        else:
            chosen.append(Contender("torch", "torch", "cpu"))
            if "cuda" in backends and torch.cuda.is_available():
                chosen.append(Contender("torch[cuda]", "torch", "cuda"))
    return chosen, skipped
