"""nnzoo's Adam takes torch's fused path without torch.optim's per-step bookkeeping."""

import pytest
import torch
from torch import nn

import nnzoo
from nnzoo.train.optim import Adam, make_optimizer, make_schedule


def trained(optimizer_class, steps=12, weight_decay=0.0, freeze_bias=False, reload=False):
    torch.manual_seed(0)
    model = nnzoo.create("lenet5").to(memory_format=torch.channels_last)
    if freeze_bias:
        model.output.bias.requires_grad_(False)
    opt = optimizer_class(model.parameters(), lr=3e-3, weight_decay=weight_decay, fused=True)
    schedule = make_schedule(opt, "cosine", steps)
    x, y = torch.randn(16, 1, 32, 32).contiguous(memory_format=torch.channels_last), \
        torch.randint(0, 10, (16,))
    for i in range(steps):
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        schedule.step()
        if reload and i == steps // 2:  # a checkpoint's round trip in the middle
            state = opt.state_dict()
            opt = optimizer_class(model.parameters(), lr=3e-3, weight_decay=weight_decay,
                                  fused=True)
            opt.load_state_dict(state)
            schedule = make_schedule(opt, "cosine", steps)
            schedule.last_epoch = i + 1
    return model, opt


@pytest.mark.parametrize("case", [{}, {"weight_decay": 1e-2}, {"freeze_bias": True},
                                  {"reload": True}])
def test_the_direct_step_moves_the_parameters_exactly_as_torchs_adam(case):
    ours, opt = trained(Adam, **case)
    theirs, reference = trained(torch.optim.Adam, **case)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        assert torch.equal(p, q), name
    for p, q in zip(ours.parameters(), theirs.parameters()):
        for key in ("step", "exp_avg", "exp_avg_sq"):
            if q in reference.state:
                assert torch.equal(opt.state[p][key], reference.state[q][key]), key


def test_make_optimizer_gives_it_for_adam_and_torchs_step_takes_the_cases_it_leaves():
    model = nn.Linear(3, 2)
    assert type(make_optimizer(model.parameters(), "adam", 1e-3)) is Adam
    assert Adam(model.parameters(), fused=True)._takes_direct_step()
    for options in ({"amsgrad": True}, {"maximize": True}, {"fused": False}):
        assert not Adam(model.parameters(), **{"fused": True, **options})._takes_direct_step()
    groups = [{"params": [model.weight]}, {"params": [model.bias], "lr": 0.1}]
    assert not Adam(groups, fused=True)._takes_direct_step()
