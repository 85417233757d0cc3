"""Run folders: the one place a training run is written to and read back from.

Nothing here knows about models or training loops: :class:`RunFolder` locks and writes a
folder, :mod:`nnzoo.runs.checkpoint` writes nests of tensors without pickle, and
:func:`load_run` rebuilds a run's model by name through the registry, :func:`load_run_data`
its dataset as it was trained on.
"""

from nnzoo.runs._files import atomic_write_bytes, dumps, finite_json
from nnzoo.runs.folder import CHECKPOINT, RUN_MARKERS, RunFolder, claim_new_folder, is_main_process
from nnzoo.runs.reading import load_run, load_run_data, read_config, run_input_shape

__all__ = ["CHECKPOINT", "RUN_MARKERS", "RunFolder", "atomic_write_bytes", "claim_new_folder",
           "dumps", "finite_json", "is_main_process", "load_run", "load_run_data", "read_config",
           "run_input_shape"]
