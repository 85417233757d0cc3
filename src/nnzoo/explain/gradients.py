"""Vanishing gradients through time: the norm of ∂L/∂h_t against the step t.

A recurrent network whose loss is read at the last step T passes the error back through
every step. For the Elman network (Bengio, Simard & Frasconi 1994; Hochreiter 1991;
Pascanu, Mikolov & Bengio 2013)

    ∂L/∂h_t = ∂L/∂h_T · Π_{s=t+1..T} ∂h_s/∂h_{s-1},   ∂h_s/∂h_{s-1} = diag(1 − h_s²) W_hh

a product of T − t Jacobians, which shrinks (or grows) geometrically with the distance T − t.
The LSTM's cell c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t carries the error back through the forget gates
alone; with f_t near 1 it does not fade (Hochreiter & Schmidhuber 1997). Jordan's network
feeds back its squashed output, two squashing layers per step, so its gradient fades faster
than Elman's; the Clockwork RNN's slow modules are updated only every T_i steps, so the error
crosses fewer Jacobians on its way back (Koutník et al. 2014).

:func:`hidden_state_gradients` measures it: the sequence is run step by step through the
layer's own cell equations (``Cell.step``), each h_t is kept with ``retain_grad``, the loss of a
batch is summed over samples (so each sample's gradient is its own) and back-propagated, and the
mean over the batch of ‖∂L/∂h_t‖₂ is returned for t = 1 … T. ∂L/∂h_t is the full gradient,
through every later step, since h_t feeds both the output and the next step. It is computed in
float64 on a copy of the model: an Elman network's gradient 100 steps back is often below
float32's smallest number (1e-38 to 1e-45), and would read as exactly zero.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from nnzoo.errors import NnzooError


def hidden_state_gradients(model, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean ‖∂L/∂h_t‖ over the batch, (T,), for a one-layer ``model.rnn`` and ``model.head``.

    ``model`` is a many-to-one sequence model (``Forecaster`` or ``SequenceClassifier``): the
    loss is the summed squared error for real targets, the summed cross-entropy for class ids.
    """
    model = copy.deepcopy(model).double()
    x = x.double()
    y = y.double() if y.is_floating_point() else y
    state, step = _stepper(model.rnn, x)
    hidden = []
    for t in range(x.shape[1]):
        state = step(t, state)
        state[0].retain_grad()
        hidden.append(state[0])                                            # h_t (B, H)
    out = model.head(hidden[-1])
    if y.is_floating_point():
        loss = ((out - y.reshape(out.shape)) ** 2).sum()
    else:
        loss = F.cross_entropy(out, y, reduction="sum")
    model.zero_grad(set_to_none=True)
    loss.backward()
    return torch.stack([h.grad.norm(dim=1).mean() for h in hidden]).detach()


def _stepper(rnn, x: torch.Tensor):
    """``(state, step(t, state) → state)``: ``rnn``'s own cell equations over x (B, T, F), so that
    each step's state can be kept. For the Jordan network the state's first part is y_t, the
    output it feeds back; for the Clockwork RNN, h_t with the modules that are not due kept."""
    from nnzoo.layers.clockwork import ClockworkRNN
    from nnzoo.layers.recurrent import JordanRNN

    xt = x.transpose(0, 1)                                                  # (T, B, F)
    if isinstance(rnn, (ClockworkRNN, JordanRNN)):
        cell = rnn.cell if isinstance(rnn, ClockworkRNN) else rnn.recurrence.cell
        gx = F.linear(xt, cell.weight_ih, cell.bias_ih)
        if isinstance(rnn, JordanRNN):
            return cell.initial_state(xt[0]), lambda t, state: cell.step(cell, gx[t], state)
        p, due = cell.recurrent_weights(), cell.active(torch.arange(xt.shape[0])[:, None])
        return cell.initial_state(xt[0]), lambda t, state: cell.step(p, gx[t], state, due[t])
    if rnn.num_layers != 1 or rnn.bidirectional:
        raise NnzooError("The gradient picture follows one layer in one direction; build the "
                         "model with num_layers=1 and bidirectional=False.")
    p = rnn.cell_weights(0, 0)
    gx = F.linear(xt, p.weight_ih, p.bias_ih)                               # (T, B, G·H)
    state = (x.new_zeros(x.shape[0], rnn.hidden_size),) * rnn.state_size
    return state, lambda t, state: rnn.cell_class.step(p, gx[t], state)


def gradients_figure(curves: dict, *, title: str, stages: tuple[str, ...],
                     notes: dict | None = None):
    """One panel per stage (e.g. "at initialisation", "after 300 steps"): a line per model of
    ‖∂L/∂h_t‖ against t, log scale. ``notes[name]`` is added to the model's legend entry in
    the panels after the first (e.g. its training loss)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(stages), figsize=(5.2 * len(stages), 4.0), squeeze=False,
                             sharey=True)
    for panel, (ax, stage) in enumerate(zip(axes[0], stages)):
        for name, by_stage in curves.items():
            norms = by_stage[stage]
            label = name + (f" ({notes[name]})" if panel and notes and name in notes else "")
            ax.semilogy(range(1, len(norms) + 1), norms, label=label, linewidth=1.8)
        ax.set_title(stage, fontsize=10)
        ax.set_xlabel(r"step $t$ (the loss is read at the last step $T$)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=9)
    axes[0][0].set_ylabel(r"mean $\|\partial L / \partial h_t\|$  (log scale)")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def train_steps(model, data, steps: int, *, lr: float = 1e-2, batch_size: int = 64,
                seed: int = 0) -> list[float]:
    """A few Adam steps (gradient norm clipped to 1) on ``data.train``; the losses."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        index = torch.randint(0, len(data.train), (batch_size,), generator=g)
        x, y = data.train.x[index], data.train.y[index]
        out = model(x)
        loss = F.mse_loss(out, y) if y.is_floating_point() else F.cross_entropy(out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    return losses
