import os

# Tests are small; one thread each keeps the suite steady on a shared 2-core machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import torch  # noqa: E402

torch.set_num_threads(1)

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def no_installed_datasets(tmp_path_factory, monkeypatch):
    """Unit tests see no dataset the machine has installed (Debian's /usr/share/datasets,
    $XDG_DATA_DIRS, ~/.nnzoo/data, $NNZOO_DATA): they write the small files they read, and
    behave the same on a machine with Fashion-MNIST installed as on CI without it. Subprocesses
    inherit the environment part (the Python-level folders are this process's only)."""
    from nnzoo.data import _files

    empty = tmp_path_factory.mktemp("no-datasets")
    monkeypatch.setattr(_files, "SYSTEM_ROOT", empty / "usr-share-datasets")
    monkeypatch.setattr(_files, "DEFAULT_ROOT", empty / "home-nnzoo-data")
    monkeypatch.setenv("XDG_DATA_DIRS", str(empty / "xdg"))
    monkeypatch.delenv("NNZOO_DATA", raising=False)
