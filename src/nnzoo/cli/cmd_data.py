"""``nnzoo data list | download NAME | verify NAME | show NAME``: the dataset files.

MNIST, Fashion-MNIST, Kuzushiji-MNIST and CIFAR-10 are read from their published files in the
data folder (``--data-dir``, else ``$NNZOO_DATA``, else ``~/.nnzoo/data``). ``download`` fetches
them on a machine with a network; ``verify`` checks them against the published MD5s.
"""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("data", help="list, download, verify and show datasets",
                       description="List the datasets and whether their files are present; "
                                   "download or verify a dataset's files; show a dataset.")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    specs = (("list", "each dataset, and whether its files are in the data folder", False),
             ("download", "fetch a dataset's published files (needs a network)", True),
             ("verify", "check a dataset's files against the published MD5 checksums", True),
             ("show", "load a dataset and print its splits, shapes and classes", True))
    for action, text, takes_name in specs:
        a = actions.add_parser(action, help=text, description=text[0].upper() + text[1:] + ".")
        if takes_name:
            a.add_argument("name", help="dataset name (see `nnzoo data list`)")
        a.add_argument("--data-dir", default=None,
                       help="data folder (default: $NNZOO_DATA, else ~/.nnzoo/data)")
        if action == "download":
            a.add_argument("--force", action="store_true",
                           help="download again even when a file is present and correct")
    p.set_defaults(run=run, print_data_help=p.print_help)


def _source(name: str):
    from nnzoo.data import dataset_entry
    from nnzoo.data._files import SOURCES
    from nnzoo.errors import NnzooError

    dataset_entry(name)  # an unknown name gets the usual suggestion
    if name not in SOURCES:
        raise NnzooError(f"Dataset {name!r} is built in or generated; it has no files to "
                         f"download or verify. Datasets read from files: {', '.join(SOURCES)}.")
    return SOURCES[name]


def _list(args) -> int:
    from nnzoo.data import list_datasets
    from nnzoo.data._files import SOURCES, data_roots, dataset_folder

    print(f"data folders, searched in order: {', '.join(map(str, data_roots(args.data_dir)))}")
    for name, description in list_datasets().items():
        files = name if name in SOURCES else _reads_files_of(name)
        if files is None:
            where = "built in"
        else:
            folder = dataset_folder(files, args.data_dir)
            present = _present(files, args.data_dir)
            where = f"found in {folder}" if present else f"not present (expected in {folder})"
            if files != name:
                where += f" (the {files} files)"
        print(f"{name:<16} {description}\n{'':<16} {where}")
    return 0


def _reads_files_of(name: str) -> str | None:
    """The file-backed dataset a derived one reads (``mnist-reconstruct`` -> ``mnist``)."""
    from nnzoo.data._files import SOURCES

    base = name.rsplit("-", 1)[0]
    return base if base != name and base in SOURCES else None


def _present(name: str, data_dir) -> bool:
    from nnzoo.data._files import dataset_folder, holds_dataset

    return holds_dataset(dataset_folder(name, data_dir), name)


def _download(args) -> int:
    from nnzoo.data._files import download, download_folder

    _source(args.name)
    print(f"downloading {args.name} into {download_folder(args.name, args.data_dir)}")
    for file, what in download(args.name, args.data_dir, force=args.force):
        print(f"  {file:<28} {what}")
    return 0


def _verify(args) -> int:
    from nnzoo.data._files import (DAMAGED, DIFFERENT, EXIT_STATUS, MISSING, NOT_CHECKED,
                                   RECOMPRESSED, SOURCES, dataset_folder, verify)

    _source(args.name)
    folder = dataset_folder(args.name, args.data_dir)
    print(f"{args.name}: {folder}")
    report = verify(args.name, args.data_dir)
    if args.name == "cifar10" and report[0][1] == MISSING and _present("cifar10", args.data_dir):
        report = [(report[0][0], NOT_CHECKED, None)]  # only the extracted batch files are there
    for file, status, path in report:
        note = ""
        if status == NOT_CHECKED:
            what = path.name if path is not None else "the extracted files"
            note = f": {what} present; the published MD5 is of {file}"
        print(f"  {file:<28} {status}{note}")
    counts = {status: sum(s == status for _, s, _ in report) for status in EXIT_STATUS}
    notes = {
        RECOMPRESSED: "recompressed copies of the published content (as Debian's dataset "
                      "packages ship them): they load and give the published data",
        DIFFERENT: "well-formed but not the published content: they still load, but results "
                   "need not match published ones",
        MISSING: f"`nnzoo data download {args.name}` fetches them"
                 + (f", or `apt-get install {SOURCES[args.name].debian_package}`"
                    if SOURCES[args.name].debian_package else ""),
        DAMAGED: f"replace them (`nnzoo data download {args.name} --force`)",
    }
    said = [f"{counts[s]} {s}: {notes[s]}" for s in notes if counts[s]]
    if said:
        print("; ".join(said) + ".")
    return max(EXIT_STATUS[s] for _, s, _ in report)


def _printable(name: str) -> str:
    """A class or token name as one visible word: a newline or a space is shown quoted."""
    return name if name.isprintable() and not name.isspace() else repr(name)


def _show(args) -> int:
    from collections import Counter

    from nnzoo.data import load_dataset

    data = load_dataset(args.name, data_dir=args.data_dir)
    print(data)
    for split_name in ("train", "val", "test"):
        split = getattr(data, split_name)
        x = split.x if not isinstance(split.x, tuple) else split.x[0]
        print(f"  {split_name:<5} x {tuple(x.shape)} {str(x.dtype).replace('torch.', '')}, "
              f"y {tuple(split.y.shape)}")
    if data.class_names:
        labels = data.train.y.reshape(-1)  # per-step targets (N, T) count every step
        counts = Counter(labels[labels >= 0].tolist()) if not labels.is_floating_point() else {}
        kind = "classes" if data.task == "classify" else "tokens"  # a vocabulary: seq2seq, text
        print(f"  {kind} (training target count): " + ", ".join(
            (n if n == str(i) else f"{i} {_printable(n)}") + f" ({counts.get(i, 0)})"
            for i, n in enumerate(data.class_names)))
    for key, value in data.info.items():
        print(f"  {key}: {value}")
    if "augment" not in data.info:
        print(f"  augment: {'on the device' if data.augment else 'none'}")
    return 0


def run(args) -> int:
    actions = {"list": _list, "download": _download, "verify": _verify, "show": _show}
    if args.action is None:
        args.print_data_help()
        return 0
    return actions[args.action](args)
