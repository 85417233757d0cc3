"""``nnzoo summary MODEL``: the layer table (layer, type, output, kernel, stride, …)."""

from __future__ import annotations

from nnzoo.cli._options import add_model_options


def add_parser(sub) -> None:
    p = sub.add_parser("summary", help="print a model's layer table",
                       description="Print a model's layer table, like the lectures' LeNet-5 table.")
    p.add_argument("model", help="model name")
    p.add_argument("--input-shape", help="one sample's shape, e.g. 3,224,224 (default: the model's)")
    add_model_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    import textwrap

    import nnzoo
    from nnzoo.cli._options import parse_pairs, parse_value
    from nnzoo.errors import NnzooError
    from nnzoo.explain.summary import format_table, summarize

    entry = nnzoo.get_entry(args.model)
    model = nnzoo.create(args.model, **parse_pairs(args.option, "Model option"))
    shape = entry.input_shape
    if args.input_shape:
        value = parse_value(args.input_shape)
        shape = (value,) if isinstance(value, int) else tuple(value)
        if not all(isinstance(s, int) and s > 0 for s in shape):
            raise NnzooError(f"--input-shape {args.input_shape!r} is not a list of positive "
                             f"integers such as 3,224,224.")
    shape = tuple(getattr(model, "input_shape", None) or shape) if not args.input_shape else shape
    try:
        table = summarize(model, shape)
    except (RuntimeError, ValueError) as err:
        raise NnzooError(f"Model {args.model!r} cannot take an input of shape {shape}: "
                         f"{str(err).splitlines()[0]}") from None
    print(f"{args.model}: {entry.summary}  [{entry.paper}]")
    print(format_table(table.rows, table.total))
    for note in table.notes:
        print(textwrap.fill(note, width=100))
    return 0
