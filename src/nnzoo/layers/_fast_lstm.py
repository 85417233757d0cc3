"""Whole-sequence kernels of the LSTM family (``cells_lstm.py``): plain, peephole, coupled.

The layout is ``_fast_rnn.py``'s. Kept for backward, each (T, B, ·): ``s``, the gates after
their sigmoid — σ(2a_g) in the candidate's slot, so g = tanh(a_g) = 2σ(2a_g) − 1 —, g, c_t,
tanh c_t and h_t. With σ' = s(1 − s) and tanh'(a_g) = 4σ(2a_g)(1 − σ(2a_g)), the plain LSTM's
backward through time (δ = ∂L/∂·):

    δh_t = ∂L/∂h_t + δa_{t+1} W_hh
    δc_t = f_{t+1} ⊙ δc_{t+1} + δh_t ⊙ o_t ⊙ (1 − tanh² c_t)
    δa_i = δc_t ⊙ g_t ⊙ σ'_i     δa_f = δc_t ⊙ c_{t-1} ⊙ σ'_f
    δa_g = δc_t ⊙ i_t ⊙ tanh'    δa_o = δh_t ⊙ tanh c_t ⊙ σ'_o

then ∂L/∂W_hh = Σ_t δa_t^T h_{t-1}, ∂L/∂W_ih = Σ_t δa_t^T x_t, ∂L/∂b = Σ_t δa_t.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from nnzoo.layers._fast_rnn import (
    WORKSPACE,
    GiveBack,
    at_last_step,
    before_each_step,
    both_bias_gradients,
    doubled_rows,
    input_gradients,
    new_buffer,
    numbers,
    per_step,
    project,
    recurrent_weight_gradient,
    running_rows,
    tanh_from_doubled,
    tanh_into,
)
from nnzoo.layers._native import loops_for


def sizes_of(schedule) -> list:
    """The compiled loops' form of a schedule: each step's running rows, [] for all of them."""
    return [] if schedule is None else schedule.sizes


def compiled_forward(s, w_rec, h0, c0, g_all, c_all, tanh_c, out, schedule, peepholes=()) -> bool:
    """The LSTM family's forward loop, compiled (``_native``), when it can run on these tensors;
    False: the caller runs its Python loop. ``peepholes``: (w_ci, w_cf, w_co) or none."""
    loops = loops_for(s, w_rec, h0, c0, *peepholes)
    if loops is None:
        return False
    loops.lstm_forward(s, w_rec, h0, c0, g_all, c_all, tanh_c, out, sizes_of(schedule),
                       torch.stack(peepholes) if peepholes else None)
    return True


def compiled_backward(s, g_all, c_all, c0, tanh_c, out, grad_out, w_hh, da, dh, dc, schedule,
                      peepholes=()) -> bool:
    """The LSTM family's backward loop, compiled, as :func:`compiled_forward`."""
    loops = loops_for(s, grad_out, w_hh, *peepholes)
    if loops is None:
        return False
    loops.lstm_backward(s, g_all, c_all, c0, tanh_c, out, grad_out, w_hh, da, dh, dc,
                        sizes_of(schedule), torch.stack(peepholes) if peepholes else None)
    return True


def gate_views(buffer: torch.Tensor, gates: int, schedule) -> list:
    """Per-step views of each gate's slice of a (T, B, G·H) buffer: G lists of (n_t, H)."""
    steps, batch = buffer.shape[:2]
    return [per_step(gate, schedule) for gate in buffer.view(steps, batch, gates, -1).unbind(2)]


def gates_in(x, w_ih, b_ih, w_hh, b_hh, gates: int, slot: int):
    """The gate buffer (T, B, G·H) holding every step's input term, and W_hh^T, with the
    candidate's rows (gate ``slot``) doubled for tanh = 2σ(2a) − 1."""
    scale = doubled_rows(gates, w_hh.shape[1], slot, w_hh)
    bias = None if b_ih is None else (b_ih + b_hh) * scale
    return project(x, w_ih * scale[:, None], bias), (w_hh * scale[:, None]).t().contiguous()


def sigmoid_derivative(s: torch.Tensor) -> torch.Tensor:
    return torch.addcmul(s, s, s, value=-1.0)                        # s(1 − s)


def output_gate_factor(o, h, tanh_c) -> torch.Tensor:
    return torch.addcmul(o, h, tanh_c, value=-1.0)                   # o(1 − tanh² c) = o − h tanh c


def peephole_gradient(grad_gate, first, cells, scratch) -> torch.Tensor:
    """Σ_{t,b} δa_t ⊙ c_{t-1} (H,), with c_{-1} = ``first``, computed in ``scratch`` (T, B, H)."""
    torch.mul(grad_gate[1:], cells[:-1], out=scratch[1:])
    torch.mul(grad_gate[0], first, out=scratch[0])
    return scratch.sum((0, 1))


def first_gradients(grad_out, grad_h, grad_c) -> tuple:
    """∂L/∂h_t (T, B, H) made contiguous, and fresh copies of ∂L/∂h_n, ∂L/∂c_n, which backward
    runs through time in place: a row's ∂L/∂h_n, ∂L/∂c_n join at its last step."""
    as_rows = torch.contiguous_format
    return (grad_out.contiguous(), grad_h.clone(memory_format=as_rows),
            grad_c.clone(memory_format=as_rows))


def lstm_weight_gradients(ctx, da, x, w_ih, w_hh, h0, out, dh, dc) -> tuple:
    """The LSTM kernels' gradients in their inputs' order, from δa (T, B, G·H) after the loop;
    hands ``da`` back to the workspace."""
    needs = ctx.needs_input_grad
    dx, dw_ih = input_gradients(ctx, da, x, w_ih)
    dw_hh = recurrent_weight_gradient(da, h0, out) if needs[3] else None
    db_ih, db_hh = both_bias_gradients(ctx, da)
    WORKSPACE.give(da)
    return dx, dw_ih, db_ih, dw_hh, db_hh, dh, dc


class LSTMSequence(torch.autograd.Function):
    """``LSTMCell.step`` over a sequence: (x, W_ih, b_ih, W_hh, b_hh, h0, c0, schedule) →
    (h_t for every step (T, B, H), h_n, c_n)."""

    @staticmethod
    def forward(ctx, x, w_ih, b_ih, w_hh, b_hh, h0, c0, schedule):
        steps, batch, hidden = x.shape[0], x.shape[1], w_hh.shape[1]
        k = numbers(x)
        s, w_rec = gates_in(x, w_ih, b_ih, w_hh, b_hh, 4, 2)           # (T, B, 4H)
        g_all, c_all, tanh_c = (WORKSPACE.take(x, steps, batch, hidden) for _ in range(3))
        out = new_buffer(x, schedule, steps, batch, hidden)
        h0, c0 = h0.contiguous(), c0.contiguous()
        if not compiled_forward(s, w_rec, h0, c0, g_all, c_all, tanh_c, out, schedule):
            S, (I, F, SG, O) = per_step(s, schedule), gate_views(s, 4, schedule)
            G, C, TC, OUT = (per_step(b, schedule) for b in (g_all, c_all, tanh_c, out))
            H_prev = before_each_step(h0, out, schedule)
            C_prev = before_each_step(c0, c_all, schedule)
            for t in range(steps):
                S[t].addmm_(H_prev[t], w_rec).sigmoid_()                  # i, f, σ(2a_g), o
                g = tanh_from_doubled(SG[t], G[t], k)                     # g = tanh(a_g)
                c = torch.mul(F[t], C_prev[t], out=C[t]).addcmul_(I[t], g)   # f ⊙ c_{t-1} + i ⊙ g
                torch.mul(O[t], tanh_into(c, TC[t], k), out=OUT[t])      # h = o ⊙ tanh(c)
        ctx.schedule, ctx.workspace = schedule, GiveBack(s, g_all, c_all, tanh_c)
        ctx.save_for_backward(x, w_ih, w_hh, h0, c0, s, g_all, c_all, tanh_c, out)
        return out, at_last_step(out, schedule), at_last_step(c_all, schedule)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_h, grad_c):
        k = numbers(grad_out)
        x, w_ih, w_hh, h0, c0, s, g_all, c_all, tanh_c, out = ctx.saved_tensors
        schedule, steps = ctx.schedule, x.shape[0]
        da = new_buffer(s, schedule, *s.shape)                           # δa (T, B, 4H)
        grad_out, dh, dc = first_gradients(grad_out, grad_h, grad_c)
        if compiled_backward(s, g_all, c_all, c0, tanh_c, out, grad_out, w_hh, da, dh, dc, schedule):
            return *lstm_weight_gradients(ctx, da, x, w_ih, w_hh, h0, out, dh, dc), None
        S, (I, F, _, O) = per_step(s, schedule), gate_views(s, 4, schedule)
        DA, (DI, DF, DG, DO) = per_step(da, schedule), gate_views(da, 4, schedule)
        G, TC, OUT, GO = (per_step(b, schedule) for b in (g_all, tanh_c, out, grad_out))
        C_prev = before_each_step(c0, c_all, schedule)
        DH, DC = running_rows(dh, schedule, steps), running_rows(dc, schedule, steps)
        for t in range(steps - 1, -1, -1):
            dh_t, dc_t = DH[t].add_(GO[t]), DC[t]
            sd = sigmoid_derivative(S[t])
            dc_t.addcmul_(dh_t, output_gate_factor(O[t], OUT[t], TC[t]))
            torch.mul(dh_t, TC[t], out=DO[t])
            torch.mul(dc_t, G[t], out=DI[t])
            torch.mul(dc_t, C_prev[t], out=DF[t])
            torch.mul(dc_t, I[t], out=DG[t]).mul_(k.four)
            DA[t].mul_(sd)
            dc_t.mul_(F[t])                                              # δc_{t-1}
            torch.mm(DA[t], w_hh, out=dh_t)                              # δh_{t-1}
        return *lstm_weight_gradients(ctx, da, x, w_ih, w_hh, h0, out, dh, dc), None


class PeepholeLSTMSequence(torch.autograd.Function):
    """``PeepholeLSTMCell.step`` over a sequence: (x, W_ih, b_ih, W_hh, b_hh, h0, c0, w_ci,
    w_cf, w_co, schedule) → (h_t (T, B, H), h_n, c_n). Backward as the LSTM's, plus the
    peepholes: δc_t gains δa_o ⊙ w_co, δc_{t-1} gains δa_i ⊙ w_ci + δa_f ⊙ w_cf."""

    @staticmethod
    def forward(ctx, x, w_ih, b_ih, w_hh, b_hh, h0, c0, w_ci, w_cf, w_co, schedule):
        steps, batch, hidden = x.shape[0], x.shape[1], w_hh.shape[1]
        k = numbers(x)
        s, w_rec = gates_in(x, w_ih, b_ih, w_hh, b_hh, 4, 2)
        g_all, tanh_c = (WORKSPACE.take(x, steps, batch, hidden) for _ in range(2))
        c_all, out = (new_buffer(x, schedule, steps, batch, hidden) for _ in range(2))
        h0, c0 = h0.contiguous(), c0.contiguous()
        if not compiled_forward(s, w_rec, h0, c0, g_all, c_all, tanh_c, out, schedule,
                                (w_ci, w_cf, w_co)):
            w_cif = torch.stack([w_ci, w_cf])                            # (2, H)
            S, (I, F, SG, O) = per_step(s, schedule), gate_views(s, 4, schedule)
            IF = per_step(s.view(steps, batch, 4, hidden)[:, :, :2], schedule)   # (n, 2, H)
            IFG = per_step(s[..., :3 * hidden], schedule)
            G, C, TC, OUT = (per_step(b, schedule) for b in (g_all, c_all, tanh_c, out))
            H_prev = before_each_step(h0, out, schedule)
            C_prev = before_each_step(c0, c_all, schedule)
            for t in range(steps):
                S[t].addmm_(H_prev[t], w_rec)
                IF[t].addcmul_(w_cif, C_prev[t].unsqueeze(1))             # i, f peek at c_{t-1}
                IFG[t].sigmoid_()
                g = tanh_from_doubled(SG[t], G[t], k)
                c = torch.mul(F[t], C_prev[t], out=C[t]).addcmul_(I[t], g)
                o = O[t].addcmul_(w_co, c).sigmoid_()                    # o peeks at c_t
                torch.mul(o, tanh_into(c, TC[t], k), out=OUT[t])
        ctx.schedule, ctx.workspace = schedule, GiveBack(s, g_all, c_all, tanh_c)
        ctx.save_for_backward(x, w_ih, w_hh, h0, c0, w_ci, w_cf, w_co, s, g_all, c_all, tanh_c, out)
        return out, at_last_step(out, schedule), at_last_step(c_all, schedule)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_h, grad_c):
        k = numbers(grad_out)
        x, w_ih, w_hh, h0, c0, w_ci, w_cf, w_co, s, g_all, c_all, tanh_c, out = ctx.saved_tensors
        schedule, (steps, batch, hidden) = ctx.schedule, out.shape
        da = new_buffer(s, schedule, *s.shape)
        grad_out, dh, dc = first_gradients(grad_out, grad_h, grad_c)
        if not compiled_backward(s, g_all, c_all, c0, tanh_c, out, grad_out, w_hh, da, dh, dc,
                                 schedule, (w_ci, w_cf, w_co)):
            S, (I, F, _, O) = per_step(s, schedule), gate_views(s, 4, schedule)
            DA, (DI, DF, DG, DO) = per_step(da, schedule), gate_views(da, 4, schedule)
            DIFG = per_step(da[..., :3 * hidden], schedule)
            G, TC, OUT, GO = (per_step(b, schedule) for b in (g_all, tanh_c, out, grad_out))
            C_prev = before_each_step(c0, c_all, schedule)
            DH, DC = running_rows(dh, schedule, steps), running_rows(dc, schedule, steps)
            for t in range(steps - 1, -1, -1):
                dh_t, dc_t = DH[t].add_(GO[t]), DC[t]
                sd = sigmoid_derivative(S[t])
                dc_t.addcmul_(dh_t, output_gate_factor(O[t], OUT[t], TC[t]))
                do = torch.mul(dh_t, TC[t], out=DO[t]).mul_(sd[:, 3 * hidden:])
                dc_t.addcmul_(do, w_co)                                  # o peeked at c_t
                torch.mul(dc_t, G[t], out=DI[t])
                torch.mul(dc_t, C_prev[t], out=DF[t])
                torch.mul(dc_t, I[t], out=DG[t]).mul_(k.four)
                DIFG[t].mul_(sd[:, :3 * hidden])
                dc_t.mul_(F[t]).addcmul_(DI[t], w_ci).addcmul_(DF[t], w_cf)   # i, f peeked at c_{t-1}
                torch.mm(DA[t], w_hh, out=dh_t)
        gates, scratch = da.view(steps, batch, 4, hidden), WORKSPACE.take(c_all, *c_all.shape)
        dw_ci = peephole_gradient(gates[:, :, 0], c0, c_all, scratch)
        dw_cf = peephole_gradient(gates[:, :, 1], c0, c_all, scratch)
        dw_co = torch.mul(gates[:, :, 3], c_all, out=scratch).sum((0, 1))   # o peeks at c_t
        WORKSPACE.give(scratch)
        return *lstm_weight_gradients(ctx, da, x, w_ih, w_hh, h0, out, dh, dc), dw_ci, dw_cf, dw_co, None


class CoupledLSTMSequence(torch.autograd.Function):
    """``CoupledLSTMCell.step`` over a sequence (gates f, g, o; i = 1 − f), arguments and
    results as :class:`LSTMSequence`. Backward: δa_f = δc_t ⊙ (c_{t-1} − g_t) ⊙ σ'_f,
    δa_g = δc_t ⊙ (1 − f_t) ⊙ tanh', the rest as the LSTM's."""

    @staticmethod
    def forward(ctx, x, w_ih, b_ih, w_hh, b_hh, h0, c0, schedule):
        steps, batch, hidden = x.shape[0], x.shape[1], w_hh.shape[1]
        k = numbers(x)
        s, w_rec = gates_in(x, w_ih, b_ih, w_hh, b_hh, 3, 1)            # (T, B, 3H)
        g_all, c_all, tanh_c = (WORKSPACE.take(x, steps, batch, hidden) for _ in range(3))
        out = new_buffer(x, schedule, steps, batch, hidden)
        h0, c0 = h0.contiguous(), c0.contiguous()
        if not compiled_forward(s, w_rec, h0, c0, g_all, c_all, tanh_c, out, schedule):
            S, (F, SG, O) = per_step(s, schedule), gate_views(s, 3, schedule)
            G, C, TC, OUT = (per_step(b, schedule) for b in (g_all, c_all, tanh_c, out))
            H_prev = before_each_step(h0, out, schedule)
            C_prev = before_each_step(c0, c_all, schedule)
            for t in range(steps):
                S[t].addmm_(H_prev[t], w_rec).sigmoid_()                  # f, σ(2a_g), o
                g = tanh_from_doubled(SG[t], G[t], k)
                c = torch.sub(C_prev[t], g, out=C[t]).mul_(F[t]).add_(g)  # g + f ⊙ (c_{t-1} − g)
                torch.mul(O[t], tanh_into(c, TC[t], k), out=OUT[t])
        ctx.schedule, ctx.workspace = schedule, GiveBack(s, g_all, c_all, tanh_c)
        ctx.save_for_backward(x, w_ih, w_hh, h0, c0, s, g_all, c_all, tanh_c, out)
        return out, at_last_step(out, schedule), at_last_step(c_all, schedule)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_h, grad_c):
        k = numbers(grad_out)
        x, w_ih, w_hh, h0, c0, s, g_all, c_all, tanh_c, out = ctx.saved_tensors
        schedule, steps = ctx.schedule, x.shape[0]
        da = new_buffer(s, schedule, *s.shape)
        grad_out, dh, dc = first_gradients(grad_out, grad_h, grad_c)
        if compiled_backward(s, g_all, c_all, c0, tanh_c, out, grad_out, w_hh, da, dh, dc, schedule):
            return *lstm_weight_gradients(ctx, da, x, w_ih, w_hh, h0, out, dh, dc), None
        S, (F, _, O) = per_step(s, schedule), gate_views(s, 3, schedule)
        DA, (DF, DG, DO) = per_step(da, schedule), gate_views(da, 3, schedule)
        G, TC, OUT, GO = (per_step(b, schedule) for b in (g_all, tanh_c, out, grad_out))
        C_prev = before_each_step(c0, c_all, schedule)
        DH, DC = running_rows(dh, schedule, steps), running_rows(dc, schedule, steps)
        for t in range(steps - 1, -1, -1):
            dh_t, dc_t = DH[t].add_(GO[t]), DC[t]
            sd = sigmoid_derivative(S[t])
            dc_t.addcmul_(dh_t, output_gate_factor(O[t], OUT[t], TC[t]))
            torch.mul(dh_t, TC[t], out=DO[t])
            torch.addcmul(dc_t, dc_t, F[t], value=-1.0, out=DG[t]).mul_(k.four)   # δc (1 − f) · 4
            torch.sub(C_prev[t], G[t], out=DF[t]).mul_(dc_t)
            DA[t].mul_(sd)
            dc_t.mul_(F[t])
            torch.mm(DA[t], w_hh, out=dh_t)
        return *lstm_weight_gradients(ctx, da, x, w_ih, w_hh, h0, out, dh, dc), None


# ---- kernels for fast_scan: kernel(x, (h0, c0), schedule) → (out, (h_n, c_n)) ---------------
# ``p`` holds the cell's parameters under its names (a layer's ``cell_weights`` view).

def lstm_kernel(p):
    def kernel(x, state, schedule):
        out, h, c = LSTMSequence.apply(x, p.weight_ih, p.bias_ih, p.weight_hh, p.bias_hh, *state,
                                       schedule)
        return out, (h, c)
    return kernel


def peephole_kernel(p):
    def kernel(x, state, schedule):
        out, h, c = PeepholeLSTMSequence.apply(x, p.weight_ih, p.bias_ih, p.weight_hh, p.bias_hh,
                                               *state, p.weight_ci, p.weight_cf, p.weight_co,
                                               schedule)
        return out, (h, c)
    return kernel


def coupled_kernel(p):
    def kernel(x, state, schedule):
        out, h, c = CoupledLSTMSequence.apply(x, p.weight_ih, p.bias_ih, p.weight_hh, p.bias_hh,
                                              *state, schedule)
        return out, (h, c)
    return kernel
