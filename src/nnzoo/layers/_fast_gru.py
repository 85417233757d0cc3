"""Whole-sequence kernel of the GRU (``cells.GRUCell``), in ``_fast_rnn.py``'s layout.

Forward per step, with the n gate's pre-activation doubled (weights' rows scaled once) so that
n = tanh(a_n) = 2σ(2a_n) − 1, and ``hh`` = W_hh h_{t-1} + b_hh kept for backward:

    r, z = σ(x_r + hh_r), σ(x_z + hh_z)     a_n = x_n + r ⊙ hh_n     h_t = n + z ⊙ (h_{t-1} − n)

Backward through time (δ = ∂L/∂·, σ' = s(1 − s), tanh'(a_n) = 4σ(2a_n)(1 − σ(2a_n))):

    δa_n = δh_t ⊙ (1 − z) ⊙ tanh'       δa_z = δh_t ⊙ (h_{t-1} − n) ⊙ σ'_z
    δa_r = δa_n ⊙ hh_n ⊙ σ'_r           δh_{t-1} = δh_t ⊙ z + [δa_r, δa_z, δa_n ⊙ r] W_hh
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from nnzoo.layers._fast_lstm import gate_views, sigmoid_derivative, sizes_of
from nnzoo.layers._fast_rnn import (
    WORKSPACE,
    GiveBack,
    at_last_step,
    before_each_step,
    bias_gradient,
    doubled_rows,
    input_gradients,
    new_buffer,
    numbers,
    per_step,
    project,
    recurrent_weight_gradient,
    running_rows,
    tanh_from_doubled,
)
from nnzoo.layers._native import loops_for


class GRUSequence(torch.autograd.Function):
    """``GRUCell.step`` over a sequence: (x, W_ih, b_ih, W_hh, b_hh, h0, schedule) →
    (h_t for every step (T, B, H), h_n)."""

    @staticmethod
    def forward(ctx, x, w_ih, b_ih, w_hh, b_hh, h0, schedule):
        steps, batch, hidden = x.shape[0], x.shape[1], w_hh.shape[1]
        k = numbers(x)
        scale = doubled_rows(3, hidden, 2, w_hh)[:, None]
        xs = project(x, w_ih * scale, None if b_ih is None else b_ih * scale[:, 0])  # x_r, x_z, 2x_n
        w_rec, b_rec = (w_hh * scale).t().contiguous(), None if b_hh is None else b_hh * scale[:, 0]
        hh = WORKSPACE.take(x, steps, batch, 3 * hidden)                 # hh_r, hh_z, 2hh_n
        n_all = WORKSPACE.take(x, steps, batch, hidden)
        out = new_buffer(x, schedule, steps, batch, hidden)
        h0 = h0.contiguous()
        loops = loops_for(xs, w_rec, h0)
        if loops is not None:
            loops.gru_forward(xs, w_rec, b_rec, h0, hh, n_all, out, sizes_of(schedule))
        else:
            RZ = per_step(xs[..., :2 * hidden], schedule)
            (R, Z, XN), (_, _, HN) = gate_views(xs, 3, schedule), gate_views(hh, 3, schedule)
            HH, HRZ = per_step(hh, schedule), per_step(hh[..., :2 * hidden], schedule)
            N, OUT = per_step(n_all, schedule), per_step(out, schedule)
            H_prev = before_each_step(h0, out, schedule)
            for t in range(steps):
                if b_rec is None:
                    torch.mm(H_prev[t], w_rec, out=HH[t])
                else:
                    torch.addmm(b_rec, H_prev[t], w_rec, out=HH[t])
                RZ[t].add_(HRZ[t]).sigmoid_()                             # r, z
                XN[t].addcmul_(R[t], HN[t]).sigmoid_()                    # σ(2a_n)
                n = tanh_from_doubled(XN[t], N[t], k)                     # n = tanh(a_n)
                torch.sub(H_prev[t], n, out=OUT[t]).mul_(Z[t]).add_(n)    # n + z ⊙ (h_{t-1} − n)
        ctx.schedule, ctx.workspace = schedule, GiveBack(xs, hh, n_all)
        ctx.save_for_backward(x, w_ih, w_hh, h0, xs, hh, n_all, out)
        return out, at_last_step(out, schedule)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_h):
        k = numbers(grad_out)
        x, w_ih, w_hh, h0, xs, hh, n_all, out = ctx.saved_tensors
        schedule, (steps, _, hidden) = ctx.schedule, out.shape
        dx_gates = new_buffer(xs, schedule, *xs.shape)                   # δa_r, δa_z, δa_n
        dhh = new_buffer(hh, schedule, *hh.shape)                        # δa_r, δa_z, δa_n ⊙ r
        grad_out, dh = grad_out.contiguous(), grad_h.clone(memory_format=torch.contiguous_format)
        loops = loops_for(xs, grad_out, w_hh)
        if loops is not None:
            loops.gru_backward(xs, hh, n_all, out, h0, grad_out, w_hh, dx_gates, dhh, dh,
                               sizes_of(schedule))
            return gru_weight_gradients(ctx, dx_gates, dhh, x, w_ih, h0, out, dh)
        XS, (R, Z, _) = per_step(xs, schedule), gate_views(xs, 3, schedule)
        HN = gate_views(hh, 3, schedule)[2]
        (DR, DZ, DN), (_, _, DHN) = gate_views(dx_gates, 3, schedule), gate_views(dhh, 3, schedule)
        DHH, DRZ = per_step(dhh, schedule), per_step(dhh[..., :2 * hidden], schedule)
        XRZ = per_step(dx_gates[..., :2 * hidden], schedule)
        N, GO = per_step(n_all, schedule), per_step(grad_out, schedule)
        H_prev = before_each_step(h0, out, schedule)
        DH = running_rows(dh, schedule, steps)
        for t in range(steps - 1, -1, -1):
            dh_t = DH[t].add_(GO[t])
            sd = sigmoid_derivative(XS[t])
            dn = torch.addcmul(dh_t, dh_t, Z[t], value=-1.0, out=DN[t])  # δh (1 − z)
            dn.mul_(sd[:, 2 * hidden:]).mul_(k.four)
            torch.sub(H_prev[t], N[t], out=DZ[t]).mul_(dh_t).mul_(sd[:, hidden:2 * hidden])
            torch.mul(dn, HN[t], out=DR[t]).mul_(sd[:, :hidden]).mul_(k.half)   # hh_n kept doubled
            torch.mul(dn, R[t], out=DHN[t])
            DRZ[t].copy_(XRZ[t])
            torch.addmm(dh_t * Z[t], DHH[t], w_hh, out=dh_t)             # δh_{t-1}
        return gru_weight_gradients(ctx, dx_gates, dhh, x, w_ih, h0, out, dh)


def gru_weight_gradients(ctx, dx_gates, dhh, x, w_ih, h0, out, dh) -> tuple:
    """:class:`GRUSequence`'s gradients in its inputs' order, from the gates' gradients after
    the loop; hands the two buffers back to the workspace."""
    needs = ctx.needs_input_grad
    dx, dw_ih = input_gradients(ctx, dx_gates, x, w_ih)
    dw_hh = recurrent_weight_gradient(dhh, h0, out) if needs[3] else None
    db_ih, db_hh = bias_gradient(needs[2], dx_gates), bias_gradient(needs[4], dhh)
    WORKSPACE.give(dx_gates, dhh)
    return dx, dw_ih, db_ih, dw_hh, db_hh, dh, None


def gru_kernel(p):
    """``kernel(x, (h0,), schedule) → (out, (h_n,))`` for ``fast_scan``; ``p`` holds the GRU
    cell's parameters under its names."""
    def kernel(x, state, schedule):
        out, h = GRUSequence.apply(x, p.weight_ih, p.bias_ih, p.weight_hh, p.bias_hh, *state, schedule)
        return out, (h,)
    return kernel
