"""The compiled time loops of the LSTM family and the GRU (``native/recurrent.cpp``), built
with the machine's C++ compiler on first use and cached.

``_fast_lstm.py`` and ``_fast_gru.py`` hand a whole sequence's forward or backward loop to
these on the CPU: each step's recurrent product through ATen (MKL), then the step's gate
arithmetic in one vectorised pass over its rows, split across ATen's threads. That removes
the ten-odd small ATen calls a step costs from Python, each paying a few microseconds of
dispatch and running single-threaded below 32k values.

Where no compiler is found, the build fails, the tensors are not float32/float64 on the CPU,
or ``NNZOO_NATIVE=0`` is set, the kernels run their Python loops, the same equations with the
same buffers, a little over half as fast; :func:`native_status` says which and why. The build
(about 20 s, once per machine, torch version and source) goes to
``$NNZOO_CACHE_DIR`` or ``$XDG_CACHE_HOME/nnzoo`` (``~/.cache/nnzoo``), under a file lock, so
that parallel processes build it once.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import torch

SOURCE = Path(__file__).with_name("native") / "recurrent.cpp"
LIBRARY = "nnzoo_recurrent.so"

_lock = threading.Lock()
_state: dict = {}   # "ops": torch.ops.nnzoo or None, "status": one line


def loops_for(*tensors: torch.Tensor):
    """``torch.ops.nnzoo`` when the compiled loops can run on these tensors (CPU, one float
    dtype of float32/float64), else None: the caller runs its Python loop."""
    first = tensors[0]
    if first.device.type != "cpu" or first.dtype not in (torch.float32, torch.float64):
        return None
    if any(t.dtype != first.dtype or t.device != first.device for t in tensors[1:]):
        return None
    return native_ops()


def native_ops():
    """The loaded ops (``torch.ops.nnzoo``), building them on first use; None if unavailable."""
    if "status" not in _state:
        with _lock:
            if "status" not in _state:
                _state["ops"], _state["status"] = _load()
    return _state["ops"]


def native_status() -> str:
    """One line: whether the compiled recurrent loops are in use, and where from or why not."""
    native_ops()
    return _state["status"]


def _load():
    if os.environ.get("NNZOO_NATIVE", "1").strip() in ("0", "false", "no", "off"):
        return None, "off (NNZOO_NATIVE=0): the explicit LSTM/GRU layers run their Python loops"
    if platform.system() != "Linux" and "NNZOO_NATIVE" not in os.environ:
        return None, f"not built on {platform.system()} (set NNZOO_NATIVE=1 to try)"
    try:
        library = _built_library()
        torch.ops.load_library(str(library))
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        reason = " ".join(str(exc).split())[:400]
        print(f"nnzoo: the compiled recurrent loops are unavailable ({reason}); the explicit "
              "LSTM/GRU layers run their Python loops, about half as fast", file=sys.stderr)
        return None, f"unavailable: {reason}"
    return torch.ops.nnzoo, f"compiled ({library})"


def compiler() -> str:
    found = shutil.which(os.environ.get("CXX", "c++")) or shutil.which("g++")
    if found is None:
        raise OSError("no C++ compiler found (set CXX, or install g++)")
    return found


def compile_command(source: Path, target: Path, cxx: str) -> list[str]:
    """The compiler's command line: torch's headers and libraries, OpenMP where ATen uses it,
    AVX2 and FMA where ATen found them on this CPU."""
    from torch.utils import cpp_extension

    flags = ["-O3", "-std=c++17", "-fPIC", "-shared", "-fno-trapping-math",
             f"-D_GLIBCXX_USE_CXX11_ABI={int(torch._C._GLIBCXX_USE_CXX11_ABI)}"]
    if "OpenMP" in torch.__config__.parallel_info():
        flags.append("-fopenmp")
    if torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512"):
        flags += ["-mavx2", "-mfma"]
    includes = [f"-I{p}" for p in cpp_extension.include_paths()]
    libraries = []
    for path in cpp_extension.library_paths():
        libraries += [f"-L{path}", f"-Wl,-rpath,{path}"]
    return [cxx, *flags, *includes, str(source), "-o", str(target), *libraries,
            "-lc10", "-ltorch_cpu"]


def cache_root() -> Path:
    if os.environ.get("NNZOO_CACHE_DIR"):
        return Path(os.environ["NNZOO_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nnzoo"


def _built_library() -> Path:
    cxx = compiler()
    source = SOURCE.read_bytes()
    probe = compile_command(SOURCE, Path(LIBRARY), cxx)
    key = hashlib.sha256(b"\0".join([source, torch.__version__.encode(),
                                     " ".join(probe).encode()])).hexdigest()[:16]
    folder = cache_root() / "native" / key
    library = folder / LIBRARY
    if library.exists():
        return library
    folder.mkdir(parents=True, exist_ok=True)
    with _file_lock(folder / ".lock"):
        if library.exists():  # another process built it while this one waited
            return library
        print("nnzoo: compiling the recurrent layers' loops (once, about 20 s)…", file=sys.stderr)
        handle, partial = tempfile.mkstemp(suffix=".so", dir=folder)
        os.close(handle)
        try:
            done = subprocess.run(compile_command(SOURCE, Path(partial), cxx),
                                  check=False, capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                raise OSError(f"{Path(cxx).name} failed: {done.stderr.strip()[-300:]}")
            os.replace(partial, library)
        finally:
            Path(partial).unlink(missing_ok=True)
    return library


class _file_lock:
    """An exclusive lock on ``path`` between processes (fcntl; no lock where it is missing)."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        self.handle = open(self.path, "a")
        try:
            import fcntl
            fcntl.flock(self.handle, fcntl.LOCK_EX)
        except ImportError:
            pass
        return self

    def __exit__(self, *exc):
        self.handle.close()   # closing releases the lock
