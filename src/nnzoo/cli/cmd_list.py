"""``nnzoo list``: the registered models (and datasets)."""

from __future__ import annotations

FAMILIES = ("feed-forward", "convolutional", "recurrent", "classic", "generative")


def add_parser(sub) -> None:
    p = sub.add_parser("list", help="list the registered models",
                       description="List the registered models, grouped by family.")
    p.add_argument("--family", choices=FAMILIES, help="only this family")
    p.add_argument("--datasets", action="store_true", help="list the datasets instead")
    p.set_defaults(run=run)


def run(args) -> int:
    import nnzoo

    if args.datasets:
        for name, description in nnzoo.list_datasets().items():
            print(f"{name:<22} {description}")
        return 0
    rule_learned = []
    for family in ([args.family] if args.family else FAMILIES):
        names = nnzoo.list_models(family)
        if not names:
            continue
        print(f"{family}:")
        for name in names:
            entry = nnzoo.get_entry(name)
            params = f"{entry.params:,}" if entry.params is not None else "?"
            print(f"  {name:<24} {params:>13} params  {entry.paper}")
            if entry.params == 0:
                rule_learned.append(name)
    if rule_learned:
        print(f"\n0 params: {', '.join(rule_learned)} learn their weights by their own rule "
              f"(Hebbian storage, Boltzmann learning), not by gradients; `nnzoo info NAME` "
              f"gives their size.")
    return 0
