"""Let CPU training reuse freed memory instead of asking the kernel for fresh pages every step.

glibc's malloc hands blocks above its mmap threshold (128 KiB at start, raised as blocks are
freed) straight from the kernel and returns them on ``free``, and trims the top of its heap back
to the kernel too. A training step allocates and frees the same large activations and gradients
every time (LeNet-5 at batch 64: 1.2 MB tensors), so each step page-faults them in again. In a
virtual machine such faults are slow: on this project's 2-core CPUs one LeNet-5 step took
~12 ms with the default settings and ~8.8 ms with the thresholds below (same process layout,
alternating runs). PyTorch's CPU tuning guide reaches the same end by preloading jemalloc or
tcmalloc; this does it without another library.

:func:`keep_freed_memory` raises both thresholds once per process (``mallopt``), so freed
blocks up to 32 MiB stay in the process for the next step. The cost: the process keeps its
peak memory until it exits. It is process-wide, and applies only on Linux with glibc; set
``NNZOO_KEEP_FREED_MEMORY=0`` to leave the allocator alone.
"""

from __future__ import annotations

import ctypes
import os
import platform

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest allowed value on 64-bit
TRIM_THRESHOLD = 1024 * 1024 * 1024

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds once; True when they are (now or before) raised."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if os.environ.get("NNZOO_KEEP_FREED_MEMORY", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _applied = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _applied
