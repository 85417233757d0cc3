"""``nnzoo show gradients``: ‖∂L/∂h_t‖ against t for Elman vs LSTM on the adding problem."""

from __future__ import annotations

from nnzoo.layers.cell_names import CELL_NAMES, CELLS  # torch-free, so --help stays light

LABELS = {name: cell.label for name, cell in CELLS.items()}
# Jordan's network feeds back its output y_t, not h_t, so its curve is of dL/dy_t.
LABELS["jordan"] += " (dL/dy_t)"


def add_parser(sub) -> None:
    p = sub.add_parser("gradients", help="vanishing gradients through time: Elman vs LSTM",
                       description="Plot the mean norm of dLoss/dh_t against the step t for "
                                   "recurrent networks on the adding problem (loss at the last "
                                   "step), at initialisation and after a few training steps, "
                                   "on a log scale; write a PNG and the numbers as JSON.")
    p.add_argument("--model", nargs="+", default=["rnn", "lstm"], choices=CELL_NAMES,
                   metavar="CELL", help=f"cells to compare (default rnn lstm; any of "
                                        f"{', '.join(CELL_NAMES)})")
    p.add_argument("--length", type=int, default=100, metavar="T",
                   help="sequence length T of the adding problem (default 100)")
    p.add_argument("--hidden", type=int, default=64, help="hidden units (default 64)")
    p.add_argument("--steps", type=int, default=1000,
                   help="Adam steps (lr 1e-2, batch 64) before the second measurement (default "
                        "1000, about a minute; 0: only at initialisation)")
    p.add_argument("--batch", type=int, default=128, help="samples averaged (default 128)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=".", help="PNG file or folder to write (default "
                                              "./gradients.png)")
    p.set_defaults(run=run)


def run(args) -> int:

    import torch

    import nnzoo
    from nnzoo.cli.show_filters import output_path
    from nnzoo.errors import NnzooError
    from nnzoo.explain.gradients import gradients_figure, hidden_state_gradients, train_steps
    from nnzoo.models.sequence import Forecaster
    from nnzoo.runs import atomic_write_bytes, dumps

    if args.length < 2 or args.hidden < 1 or args.steps < 0 or args.batch < 1:
        raise NnzooError(f"show gradients needs --length >= 2, --hidden >= 1, --steps >= 0 and "
                         f"--batch >= 1; got {args.length}, {args.hidden}, {args.steps}, "
                         f"{args.batch}.")
    path = output_path(".", args.out, "gradients.png")
    data = nnzoo.load_dataset("adding", T=args.length, n_train=max(2_000, args.batch),
                              n_val=1, n_test=args.batch, seed=args.seed)
    x, y = data.test.x, data.test.y
    stages = ("at initialisation",) + ((f"after {args.steps} Adam steps",) if args.steps else ())
    curves, losses = {}, {}
    for cell in dict.fromkeys(args.model):
        torch.manual_seed(args.seed)
        model = Forecaster(2, args.hidden, cell=cell, window=args.length)
        curves[LABELS[cell]] = {stages[0]: hidden_state_gradients(model, x, y).tolist()}
        if args.steps:
            tail = train_steps(model, data, args.steps, seed=args.seed)[-50:]
            losses[LABELS[cell]] = sum(tail) / len(tail)
            curves[LABELS[cell]][stages[1]] = hidden_state_gradients(model, x, y).tolist()
    title = (rf"$\|\partial L / \partial h_t\|$ on the adding problem, $T$ = {args.length}: "
             f"vanishing through time ({args.hidden} hidden units, mean over {args.batch} "
             f"test sequences)")
    notes = {name: f"train MSE {mse:.3f}" for name, mse in losses.items()}
    fig = gradients_figure(curves, title=title, stages=stages, notes=notes)
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
    numbers = {"length": args.length, "hidden": args.hidden, "steps": args.steps,
               "curves": curves, "train_mse_last_50_steps": losses}
    atomic_write_bytes(path.with_suffix(".json"), dumps(numbers).encode())  # strict JSON
    width = max(map(len, curves))
    for name, by_stage in curves.items():
        for stage, norms in by_stage.items():
            print(f"{name:>{width}} {stage:>26}: |dL/dh_1| / |dL/dh_T| = {norms[0] / norms[-1]:.3g}")
        if name in losses:
            print(f"{name:>22} training MSE over the last 50 steps {losses[name]:.4f} "
                  f"(always answering 1.0: 0.167)")
    print(f"wrote {path}")
    return 0
