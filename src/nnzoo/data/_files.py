"""Where dataset files live, what they must hash to, and how to fetch them.

Files are looked up in a data folder: the ``data_dir`` a loader is given (``--data-dir`` on the
command line), else the environment variable ``NNZOO_DATA``, else ``~/.nnzoo/data``; each
dataset has its own subfolder (``<data folder>/mnist/train-images-idx3-ubyte.gz``).

``SOURCES`` is the table of published files and their MD5s, as torchvision and the datasets'
authors list them. A file that fails its checksum still loads when it is well formed (a user's
own IDX files, a re-compressed copy); ``nnzoo data verify`` reports the mismatch. Downloads go to
a temporary name in the target folder and are renamed only after the checksum passes, so an
interrupted or corrupted download never stands where a good file is expected.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from nnzoo.errors import NnzooError

ENV_VAR = "NNZOO_DATA"
DEFAULT_ROOT = Path("~/.nnzoo/data")
TIMEOUT_S = 5.0  # per connection attempt: a machine without a network must fail in seconds


@dataclass(frozen=True)
class Source:
    """The published files of one dataset: ``files`` maps file name to MD5."""

    dataset: str
    folder: str  # subfolder of the data folder
    mirrors: tuple[str, ...]  # base URLs, tried in order
    files: dict[str, str]
    homepage: str
    raw_ok: bool = False  # an uncompressed copy (name without ".gz") is accepted too


# Published MD5s (torchvision.datasets.mnist / cifar; the CIFAR page of A. Krizhevsky).
_MNIST_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
SOURCES = {
    "mnist": Source(
        "mnist", "mnist",
        ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"),
        dict(zip(_MNIST_NAMES, ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
                                "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"))),
        "http://yann.lecun.com/exdb/mnist/", raw_ok=True),
    "fashion-mnist": Source(
        "fashion-mnist", "fashion-mnist",
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        dict(zip(_MNIST_NAMES, ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                                "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"))),
        "https://github.com/zalandoresearch/fashion-mnist", raw_ok=True),
    "kmnist": Source(
        "kmnist", "kmnist",
        ("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
        dict(zip(_MNIST_NAMES, ("bdb82020997e1d708af4cf47b453dcf7", "e144d726b3acfaa3e44228e80efcd344",
                                "5c965bf0a639b31b8f53240b1b52f4d7", "7320c461ea6c1c855c0b718fb2a4b134"))),
        "https://github.com/rois-codh/kmnist", raw_ok=True),
    "cifar10": Source(
        "cifar10", "cifar10",
        ("https://www.cs.toronto.edu/~kriz/",),
        {"cifar-10-binary.tar.gz": "c32a1d4ab5d03f1284b67883e8d87530"},
        "https://www.cs.toronto.edu/~kriz/cifar.html"),
}


def data_root(data_dir=None) -> Path:
    """The data folder: ``data_dir``, else ``$NNZOO_DATA``, else ``~/.nnzoo/data``."""
    chosen = data_dir if data_dir not in (None, "") else os.environ.get(ENV_VAR) or DEFAULT_ROOT
    return Path(chosen).expanduser()


def dataset_folder(name: str, data_dir=None) -> Path:
    return data_root(data_dir) / SOURCES[name].folder


def find_file(folder: Path, name: str, raw_ok: bool) -> Path | None:
    """``folder/name``, or its uncompressed twin when ``raw_ok``; None when neither exists."""
    candidates = [folder / name]
    if raw_ok and name.endswith(".gz"):
        candidates.append(folder / name[:-3])
    return next((p for p in candidates if p.is_file()), None)


def missing_files_error(name: str, folder: Path, expected: list[str], raw_ok: bool) -> NnzooError:
    source = SOURCES[name]
    also = " (or the same names without .gz, uncompressed)" if raw_ok else ""
    return NnzooError(
        f"Dataset {name!r} needs the file(s) {', '.join(expected)}{also} in the folder {folder}, "
        f"and they are not there. On a machine with a network run `nnzoo data download {name}`; "
        f"otherwise copy the files from {source.homepage} into that folder by hand. The data "
        f"folder is --data-dir, else ${ENV_VAR}, else {DEFAULT_ROOT}.")


def md5sum(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(name: str, data_dir=None) -> list[tuple[str, str, Path | None]]:
    """Each published file of ``name`` as ``(file, status, path)``.

    ``status`` is "ok", "checksum mismatch", "missing", or "not checked" for an uncompressed
    copy (the published MD5 is that of the .gz file).
    """
    source = SOURCES[name]
    folder = dataset_folder(name, data_dir)
    report = []
    for file, expected in source.files.items():
        path = find_file(folder, file, source.raw_ok)
        if path is None:
            status = "missing"
        elif path.name != file:
            status = "not checked"
        else:
            status = "ok" if md5sum(path) == expected else "checksum mismatch"
        report.append((file, status, path))
    return report


def _fetch(url: str, target: Path, expected_md5: str) -> None:
    """Stream ``url`` into a temporary file beside ``target``; rename once the MD5 matches."""
    partial = target.with_name(f".{target.name}.{os.getpid()}.part")
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, open(partial, "wb") as out:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != expected_md5:
            raise NnzooError(f"The file downloaded from {url} has MD5 {digest.hexdigest()}, not the "
                             f"published {expected_md5}; it was discarded (nothing was written "
                             f"to {target}).")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def download(name: str, data_dir=None, *, force: bool = False) -> list[tuple[str, str]]:
    """Fetch the published files of ``name`` that are not already present and correct.

    Returns ``(file, what happened)`` per file. A machine that cannot reach any mirror raises
    :class:`NnzooError` at the first file, after one short connection attempt per mirror.
    """
    source = SOURCES[name]
    folder = dataset_folder(name, data_dir)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    done = []
    for file, expected in source.files.items():
        target = folder / file
        if not force and target.is_file() and md5sum(target) == expected:
            done.append((file, "already present, checksum ok"))
            continue
        failures = []
        for base in source.mirrors:
            try:
                _fetch(base + file, target, expected)
                done.append((file, f"downloaded from {base}"))
                break
            except (urllib.error.URLError, http.client.HTTPException, TimeoutError,
                    ConnectionError) as err:  # HTTPError, DNS failure, refused, timed out
                failures.append(f"{base + file}: {getattr(err, 'reason', err)}")
        else:
            if created and not any(folder.iterdir()):
                folder.rmdir()  # leave no empty folder that looks like a half-done download
            raise NnzooError(
                f"Could not download {file} for dataset {name!r}: this machine cannot reach "
                f"{'; '.join(failures)}. Place the files {', '.join(source.files)} in {folder} by "
                f"hand (from {source.homepage}), then run `nnzoo data verify {name}`.")
    return done
