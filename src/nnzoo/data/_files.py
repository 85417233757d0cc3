"""Where dataset files live, what they must hash to, and how to fetch them.

Files are looked up in these data folders, in order, each holding one subfolder per dataset
(``<data folder>/mnist/train-images-idx3-ubyte.gz``): the ``data_dir`` a loader is given
(``--data-dir`` on the command line), the environment variable ``NNZOO_DATA``, ``~/.nnzoo/data``,
then the system's dataset folders, ``/usr/share/datasets`` (where Debian's dataset packages,
such as ``apt-get install dataset-fashion-mnist``, put them) and ``datasets/`` under each folder
of ``$XDG_DATA_DIRS``. The first folder that holds all of a dataset's files is used; downloads
go to the first of the user's own folders.

``SOURCES`` is the table of published files and their MD5s, as torchvision and the datasets'
authors list them. A file that fails its checksum still loads when it is well formed (a user's
own IDX files, a re-compressed copy); ``nnzoo data verify`` reports the mismatch. Downloads go to
a temporary name in the target folder and are renamed only after the checksum passes, so an
interrupted or corrupted download never stands where a good file is expected.
"""

from __future__ import annotations

import hashlib
import http.client
import math
import os
import struct
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
    debian_package: str | None = None  # the package that installs the files in /usr/share/datasets
    content: dict[str, str] | None = None  # file name -> MD5 of its decompressed content


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
        "https://github.com/zalandoresearch/fashion-mnist", raw_ok=True,
        debian_package="dataset-fashion-mnist",
        # MD5s of the decompressed files: Debian's dataset-fashion-mnist (0.0~git20200523)
        # recompressed the published .gz files, so their MD5s differ from the table above, but
        # their content is the published data; these are that content's MD5s.
        content=dict(zip(_MNIST_NAMES, ("f4a8712d7a061bf5bd6d2ca38dc4d50a",
                                        "9018921c3c673c538a1fc5bad174d6f9",
                                        "8181f5470baa50b63fa0f6fddb340f0a",
                                        "15d484375f8d13e6eb1aabb0c3f46965")))),
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
    return Path(chosen).expanduser().absolute()


SYSTEM_ROOT = Path("/usr/share/datasets")

# CIFAR-10's binary distribution: the archive, the folder it extracts to, and its files.
CIFAR_TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
CIFAR_TEST_FILES = ("test_batch.bin",)
CIFAR_META_FILE = "batches.meta.txt"
CIFAR_ARCHIVE = "cifar-10-binary.tar.gz"
CIFAR_FOLDER = "cifar-10-batches-bin"


def data_roots(data_dir=None) -> list[Path]:
    """Every data folder searched, in order (see the module's docstring)."""
    roots = [Path(data_dir).expanduser().absolute()] if data_dir not in (None, "") else []
    if os.environ.get(ENV_VAR):
        roots.append(Path(os.environ[ENV_VAR]).expanduser().absolute())
    roots += [DEFAULT_ROOT.expanduser(), SYSTEM_ROOT]
    xdg = os.environ.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share"
    roots += [Path(d) / "datasets" for d in xdg.split(":") if d]
    return list(dict.fromkeys(roots))


def holds_dataset(folder: Path, name: str) -> bool:
    """Whether ``folder`` holds every file of dataset ``name`` (CIFAR-10: its archive, or the
    extracted batches)."""
    source = SOURCES[name]
    if name == "cifar10":
        needed = CIFAR_TRAIN_FILES + CIFAR_TEST_FILES
        extracted = any(all((d / f).is_file() for f in needed)
                        for d in (folder / CIFAR_FOLDER, folder))
        return extracted or (folder / CIFAR_ARCHIVE).is_file()
    return all(find_file(folder, f, source.raw_ok) for f in source.files)


def dataset_folder(name: str, data_dir=None) -> Path:
    """The folder of dataset ``name``: the first data folder that holds all its files, else
    where they are expected (the first of the user's folders, where a download puts them)."""
    subfolder = SOURCES[name].folder
    for root in data_roots(data_dir):
        if holds_dataset(root / subfolder, name):
            return root / subfolder
    return download_folder(name, data_dir)


def download_folder(name: str, data_dir=None) -> Path:
    """Where ``nnzoo data download`` puts dataset ``name``: never a system folder."""
    return data_root(data_dir) / SOURCES[name].folder


def find_file(folder: Path, name: str, raw_ok: bool) -> Path | None:
    """``folder/name``, or its uncompressed twin when ``raw_ok``; None when neither exists."""
    candidates = [folder / name]
    if raw_ok and name.endswith(".gz"):
        candidates.append(folder / name[:-3])
    return next((p for p in candidates if p.is_file()), None)


def missing_files_error(name: str, folder: Path, expected: list[str], raw_ok: bool,
                        data_dir=None) -> NnzooError:
    source = SOURCES[name]
    also = " (or the same names without .gz, uncompressed)" if raw_ok else ""
    searched = ", ".join(str(root / source.folder) for root in data_roots(data_dir))
    debian = (f" On Debian, `apt-get install {source.debian_package}` installs them in "
              f"{SYSTEM_ROOT / source.folder}." if source.debian_package else "")
    return NnzooError(
        f"Dataset {name!r} needs the file(s) {', '.join(expected)}{also}, and no data folder "
        f"holds them all (searched {searched}).{debian} On a machine with a network run `nnzoo "
        f"data download {name}`; otherwise copy the files from {source.homepage} into {folder} "
        f"by hand.")


def md5sum(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# The verdicts of ``verify``, best first, with the exit status `nnzoo data verify` gives.
OK = "ok"
RECOMPRESSED = "identical content (recompressed)"
NOT_CHECKED = "not checked"
DIFFERENT = "different file"
MISSING = "missing"
DAMAGED = "damaged (truncated / corrupt)"
EXIT_STATUS = {OK: 0, RECOMPRESSED: 0, NOT_CHECKED: 0, DIFFERENT: 1, MISSING: 2, DAMAGED: 3}


def content_md5(path: Path) -> str | None:
    """MD5 of a file's decompressed content (read in chunks), or None when it is damaged: a
    truncated or corrupt gzip stream, or an IDX file shorter or longer than its header says.
    A longer one is known as soon as the bytes pass the declared size, and a gzip file whose
    header declares more than deflate can expand it to, before any decompression, so a
    decompression bomb is never streamed through to its end."""
    import gzip
    import zlib

    from nnzoo.data._limits import CHUNK, DEFLATE_MAX_RATIO

    digest, size, declared = hashlib.md5(usedforsecurity=False), 0, None
    compressed = path.suffix == ".gz"
    try:
        with (gzip.open if compressed else open)(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(CHUNK), b""):
                if size == 0:
                    declared = _idx_declared_size(chunk[:16])
                    if declared is not None and compressed \
                            and declared > DEFLATE_MAX_RATIO * path.stat().st_size:
                        return None
                digest.update(chunk)
                size += len(chunk)
                if declared is not None and size > declared:
                    return None  # longer than its header says
    except (OSError, EOFError, zlib.error):
        return None
    if declared is not None and size != declared:
        return None
    return digest.hexdigest()


_IDX_ITEM_SIZES = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}


def _idx_declared_size(head: bytes) -> int | None:
    """The whole size (header and data) an IDX header of at most 3 dimensions declares; None
    when ``head`` does not start like one."""
    if len(head) < 4 or head[:2] != b"\0\0" or head[2] not in _IDX_ITEM_SIZES:
        return None
    dims = head[3]
    if dims > 3 or len(head) < 4 + 4 * dims:
        return None
    shape = struct.unpack(f">{dims}I", head[4:4 + 4 * dims])
    return 4 + 4 * dims + _IDX_ITEM_SIZES[head[2]] * math.prod(shape)


def verify(name: str, data_dir=None) -> list[tuple[str, str, Path | None]]:
    """Each published file of ``name`` as ``(file, verdict, path)``, the verdict one of
    ``EXIT_STATUS``: the published file itself (``ok``); another compression of the same
    content (``identical content (recompressed)``), told by the MD5 of the decompressed data;
    a truncated or corrupt file (``damaged``); a well-formed file with other content
    (``different file``); ``missing``; or ``not checked`` (an uncompressed copy of a dataset
    with no content checksums)."""
    source = SOURCES[name]
    folder = dataset_folder(name, data_dir)
    report = []
    for file, expected in source.files.items():
        path = find_file(folder, file, source.raw_ok)
        content = (source.content or {}).get(file)
        if path is None:
            verdict = MISSING
        elif path.name == file and md5sum(path) == expected:
            verdict = OK
        else:
            found = content_md5(path)
            if found is None:
                verdict = DAMAGED
            elif content is None:
                verdict = NOT_CHECKED if path.name != file else DIFFERENT
            elif found == content:
                verdict = RECOMPRESSED if path.name == file else OK
            else:
                verdict = DIFFERENT
        report.append((file, verdict, path))
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
    folder = download_folder(name, data_dir)
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
