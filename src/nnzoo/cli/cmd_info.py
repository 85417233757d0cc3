"""``nnzoo info MODEL``: what a model is, where it comes from, what it takes."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("info", help="describe a model: paper, defaults, options",
                       description="Describe a registered model.")
    p.add_argument("model", help="model name")
    p.set_defaults(run=run)


def run(args) -> int:
    import inspect

    import nnzoo

    entry = nnzoo.get_entry(args.model)
    print(f"{entry.name}: {entry.summary}")
    print(f"  family       {entry.family}")
    print(f"  paper        {entry.paper}")
    print(f"  input shape  {entry.input_shape} (one sample)")
    print(f"  dataset      {entry.dataset} (task: {entry.task})")
    if entry.params:
        print(f"  parameters   {entry.params:,} (default options)")
    elif entry.params == 0:
        print(f"  parameters   none trained by gradient; {rule_learned_weights(entry)}")
    import typing

    from nnzoo.train.fitting import learner_for

    try:  # the class the factory builds, from its annotation: building VGG-16 to ask is slow
        built = typing.get_type_hints(entry.factory)["return"]
    except (KeyError, NameError, TypeError):
        built = entry.factory()
    learner = learner_for(built)
    print(f"  learned by   {learner.rule} ({learner.__module__}.{learner.__name__}), which "
          f"takes {', '.join(learner.TAKES) or 'no settings'}")
    if entry.defaults:
        print("  training     " + ", ".join(f"{k}={v}" for k, v in entry.defaults.items()))
    print("  options      " + (", ".join(f"{k}={v!r}" for k, v in entry.options().items()) or "none"))
    module_doc = inspect.getdoc(inspect.getmodule(entry.factory)) or ""
    if module_doc:
        print()
        print(module_doc)
    return 0


def rule_learned_weights(entry) -> str:
    """'weight 13x13, threshold 13 set by its own learning rule (default options)': the
    weights a model stores as (persistent) buffers."""
    model = entry.factory()
    saved = model.state_dict().keys()
    stored = [f"{name} {'x'.join(map(str, b.shape))}" for name, b in model.named_buffers()
              if name in saved]
    return ", ".join(stored) + " set by its own learning rule (default options)"
