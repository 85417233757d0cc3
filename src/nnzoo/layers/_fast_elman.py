"""Whole-sequence kernels of the one-layer-feedback networks, in ``_fast_rnn.py``'s layout:
the Elman RNN (``cells.ElmanCell``), the Clockwork RNN (``clockwork.ClockworkCell``: the Elman
step on a masked W_hh, with only the modules on the clock updated) and the Jordan network
(``cells.JordanCell``).

Elman / Clockwork, backward through time (σ' read from the output h_t; ``active`` (T, H) the
units on the clock at each step, all of them for Elman):

    δa_t = δh_t ⊙ σ'(h_t) ⊙ active_t          δh_{t-1} = δh_t ⊙ (1 − active_t) + δa_t W_hh

Jordan (s_t = μ s_{t-1} + y_{t-1}, h_t = σ(W_ih x_t + b_ih + W_yh s_t), y_t = σ_y(W_hy h_t + b_hy)):

    δa_y = δy_t ⊙ σ_y'(y_t)    δa_h = (δa_y W_hy) ⊙ σ'(h_t)    δs_t = μ δs_{t+1} + δa_h W_yh
    δy_{t-1} = δs_t   (plus y_{t-1}'s own output gradient)
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from nnzoo.layers._fast_rnn import (
    WORKSPACE,
    GiveBack,
    at_last_step,
    before_each_step,
    bias_gradient,
    both_bias_gradients,
    input_gradients,
    new_buffer,
    per_step,
    project,
    recurrent_weight_gradient,
    running_rows,
    zero_padded_steps,
)

IN_PLACE = {"tanh": torch.Tensor.tanh_, "relu": torch.Tensor.relu_,
            "logistic": torch.Tensor.sigmoid_, "identity": lambda y: y}


def times_derivative(grad: torch.Tensor, y: torch.Tensor, name: str, out: torch.Tensor) -> torch.Tensor:
    """``out`` = grad ⊙ f'(a), f' read from the output y = f(a), for f in ``IN_PLACE``."""
    if name == "tanh":
        return torch.addcmul(grad, grad, y * y, value=-1.0, out=out)     # 1 − y²
    if name == "logistic":
        return torch.mul(grad, torch.addcmul(y, y, y, value=-1.0), out=out)   # y(1 − y)
    if name == "relu":
        return torch.mul(grad, y > 0, out=out)
    return out.copy_(grad)


class ElmanSequence(torch.autograd.Function):
    """``ElmanCell.step`` (``active`` None) or ``ClockworkCell.step`` (``active`` (T, H)) over a
    sequence: (x, W_ih, b_ih, W_hh, b_hh, h0, nonlinearity, active, schedule) → (h_t (T, B, H), h_n)."""

    @staticmethod
    def forward(ctx, x, w_ih, b_ih, w_hh, b_hh, h0, nonlinearity, active, schedule):
        out = project(x, w_ih, None if b_ih is None else b_ih + b_hh)    # (T, B, H), then h_t in place
        activation, w_rec = IN_PLACE[nonlinearity], w_hh.t()
        OUT, H_prev = per_step(out, schedule), before_each_step(h0, out, schedule)
        ON = None if active is None else active.unbind(0)
        for t in range(x.shape[0]):
            h = activation(OUT[t].addmm_(H_prev[t], w_rec))
            if ON is not None:
                torch.where(ON[t], h, H_prev[t], out=h)            # modules off the clock keep h_{t-1}
        zero_padded_steps(out, schedule)
        ctx.schedule, ctx.nonlinearity = schedule, nonlinearity
        ctx.save_for_backward(x, w_ih, w_hh, h0, active, out)
        return out, at_last_step(out, schedule)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_h):
        x, w_ih, w_hh, h0, active, out = ctx.saved_tensors
        schedule, steps = ctx.schedule, out.shape[0]
        da = new_buffer(out, schedule, *out.shape)
        DA, OUT, GO = per_step(da, schedule), per_step(out, schedule), per_step(grad_out, schedule)
        ON = None if active is None else active.to(out.dtype).unbind(0)
        dh = grad_h.clone()
        DH = running_rows(dh, schedule, steps)
        for t in range(steps - 1, -1, -1):
            dh_t = DH[t].add_(GO[t])
            times_derivative(dh_t, OUT[t], ctx.nonlinearity, out=DA[t])
            if ON is None:
                torch.mm(DA[t], w_hh, out=dh_t)
            else:
                DA[t].mul_(ON[t])
                torch.addmm(dh_t - dh_t * ON[t], DA[t], w_hh, out=dh_t)
        needs = ctx.needs_input_grad
        dx, dw_ih = input_gradients(ctx, da, x, w_ih)
        dw_hh = recurrent_weight_gradient(da, h0, out) if needs[3] else None
        db_ih, db_hh = both_bias_gradients(ctx, da)
        WORKSPACE.give(da)
        return dx, dw_ih, db_ih, dw_hh, db_hh, dh, None, None, None


class JordanSequence(torch.autograd.Function):
    """``JordanCell.step`` over a sequence: (x, W_ih, b_ih, W_yh, W_hy, b_hy, y0, s0, decay,
    nonlinearity, output_nonlinearity, schedule) → (y_t (T, B, O), y_n, s_n)."""

    @staticmethod
    def forward(ctx, x, w_ih, b_ih, w_yh, w_hy, b_hy, y0, s0, decay, nonlinearity, output_nonlinearity,
                schedule):
        steps, batch, outputs = x.shape[0], x.shape[1], w_hy.shape[0]
        hidden = project(x, w_ih, b_ih)                                  # (T, B, H), then h_t in place
        s_all = WORKSPACE.take(x, steps, batch, outputs, zero=True)
        y_all = x.new_zeros(steps, batch, outputs)
        act, act_y = IN_PLACE[nonlinearity], IN_PLACE[output_nonlinearity]
        HS, SS, Y = per_step(hidden, schedule), per_step(s_all, schedule), per_step(y_all, schedule)
        Y_prev, S_prev = before_each_step(y0, y_all, schedule), before_each_step(s0, s_all, schedule)
        for t in range(steps):
            s = torch.add(Y_prev[t], S_prev[t], alpha=decay, out=SS[t])    # s_t = μ s_{t-1} + y_{t-1}
            h = act(HS[t].addmm_(s, w_yh.t()))                           # h_t
            if b_hy is None:
                act_y(torch.mm(h, w_hy.t(), out=Y[t]))
            else:
                act_y(torch.addmm(b_hy, h, w_hy.t(), out=Y[t]))          # y_t
        zero_padded_steps(hidden, schedule)
        ctx.schedule, ctx.decay, ctx.workspace = schedule, decay, GiveBack(hidden, s_all)
        ctx.names = nonlinearity, output_nonlinearity
        ctx.save_for_backward(x, w_ih, w_yh, w_hy, hidden, s_all, y_all)
        return y_all, at_last_step(y_all, schedule), at_last_step(s_all, schedule)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_y, grad_s):
        x, w_ih, w_yh, w_hy, hidden, s_all, y_all = ctx.saved_tensors
        schedule, steps, (name, name_y) = ctx.schedule, x.shape[0], ctx.names
        da_h, da_y = (new_buffer(b, schedule, *b.shape) for b in (hidden, y_all))
        DAH, DAY, HS, Y = (per_step(b, schedule) for b in (da_h, da_y, hidden, y_all))
        GO = per_step(grad_out, schedule)
        dy, ds = grad_y.clone(), grad_s.clone()
        DY, DS = running_rows(dy, schedule, steps), running_rows(ds, schedule, steps)
        for t in range(steps - 1, -1, -1):
            dy_t, ds_t = DY[t].add_(GO[t]), DS[t]
            times_derivative(dy_t, Y[t], name_y, out=DAY[t])
            times_derivative(torch.mm(DAY[t], w_hy), HS[t], name, out=DAH[t])
            ds_t.addmm_(DAH[t], w_yh)                                    # δs_t (total)
            dy_t.copy_(ds_t)                                             # δy_{t-1}
            ds_t.mul_(ctx.decay)                                         # δs_{t-1} from s_t
        needs = ctx.needs_input_grad
        dx, dw_ih = input_gradients(ctx, da_h, x, w_ih)
        db_ih = bias_gradient(needs[2], da_h)
        flat = da_y.reshape(-1, da_y.shape[-1])
        dw_yh = torch.mm(da_h.reshape(-1, da_h.shape[-1]).t(), s_all.reshape(-1, s_all.shape[-1])) \
            if needs[3] else None
        dw_hy = torch.mm(flat.t(), hidden.reshape(-1, hidden.shape[-1])) if needs[4] else None
        db_hy = bias_gradient(needs[5], da_y)
        WORKSPACE.give(da_h, da_y)
        return (dx, dw_ih, db_ih, dw_yh, dw_hy, db_hy, dy, ds,
                None, None, None, None)


# ---- kernels for fast_scan: kernel(x, state, schedule) → (out, state) -------------------------

def elman_kernel(p, active=None):
    """For ``p`` holding an Elman (or, with ``active`` (T, H), a Clockwork) cell's parameters;
    a Clockwork cell's ``weight_hh`` is already masked."""
    def kernel(x, state, schedule):
        out, h = ElmanSequence.apply(x, p.weight_ih, p.bias_ih, p.weight_hh, p.bias_hh, *state,
                                     p.nonlinearity, active, schedule)
        return out, (h,)
    return kernel


def jordan_kernel(cell):
    """For a ``JordanCell``, or None when its output activation has no fast form (the
    readable step runs it)."""
    from nnzoo.layers.activations import get_activation

    output = get_activation(cell.output_nonlinearity).name
    if output not in IN_PLACE:
        return None

    def kernel(x, state, schedule):
        out, y, s = JordanSequence.apply(x, cell.weight_ih, cell.bias_ih, cell.weight_yh,
                                         cell.weight_hy, cell.bias_hy, *state, cell.decay,
                                         cell.nonlinearity, output, schedule)
        return out, (y, s)
    return kernel
