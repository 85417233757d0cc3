"""Encoder-decoder: teacher forcing, greedy and beam decoding, learning a small reversal task."""

import pytest
import torch
import torch.nn.functional as F

import nnzoo
from nnzoo.data.sequences import BOS, EOS, PAD, encode
from nnzoo.models.seq2seq import Seq2Seq, exact_match


def _model(cell="lstm", seed=0):
    torch.manual_seed(seed)
    return Seq2Seq(14, embed_size=8, hidden_size=16, cell=cell).eval()


def test_teacher_forcing_scores_each_target_token_from_the_true_prefix():
    model = _model()
    src, tgt_in = encode(["123", "45"]), torch.tensor([[BOS, 5, 6], [BOS, 7, PAD]])
    scores = model(src, tgt_in)
    assert scores.shape == (2, 3, 14)
    # Step u depends on tgt_in[:, :u+1] only: changing a later token leaves earlier scores alone.
    changed = tgt_in.clone()
    changed[0, 2] = 9
    assert torch.allclose(model(src, changed)[0, :2], scores[0, :2])
    assert not torch.allclose(model(src, changed)[0, 2], scores[0, 2])


def test_padding_in_the_source_does_not_change_the_encoding():
    model = _model("gru")
    alone = model.encode(encode(["42"]))
    padded = model.encode(torch.cat([encode(["42"]), torch.full((1, 4), PAD)], dim=1))
    assert torch.allclose(alone, padded, atol=1e-6)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_beam_of_one_is_greedy_decoding(cell):
    model = _model(cell, seed=1)
    src = encode(["3141", "59", "26535", "8"])
    greedy = model.generate(src, max_len=7, beam=1)
    beam = model.beam_search(src, 7, 1)
    assert torch.equal(greedy, beam)


def test_greedy_takes_the_argmax_and_stops_at_eos():
    model = _model(seed=2)
    src = encode(["271"])
    out = model.generate(src, max_len=6)
    state, token = model.encode(src), torch.tensor([[BOS]])
    for u in range(out.shape[1]):
        scores, state = model.decode_steps(token, state)
        token = scores.argmax(-1)
        assert token.item() == out[0, u].item()
        if token.item() == EOS:
            assert torch.all(out[0, u + 1:] == PAD)
            break


def _sequence_log_prob(model, src, tokens):
    """log p(tokens | src) under teacher forcing, up to and including the first EOS."""
    n = (tokens == EOS).nonzero()[0, 0].item() + 1 if (tokens == EOS).any() else len(tokens)
    tgt_in = torch.cat([torch.tensor([BOS]), tokens[:n - 1]])[None]
    logp = F.log_softmax(model(src, tgt_in), -1)[0]
    return logp[torch.arange(n), tokens[:n]].sum().item()


def test_beam_search_finds_sequences_at_least_as_likely_as_greedy():
    # Half-trained (one epoch): greedy and beam disagree on about half of the strings.
    torch.manual_seed(0)
    data = nnzoo.load_dataset("reversal", min_len=2, max_len=4, n_train=2000, n_val=20, n_test=100)
    model = nnzoo.create("seq2seq", hidden_size=64, embed_size=16)
    nnzoo.fit(model, data, epochs=1, lr=1e-2, batch_size=64, clip_grad_norm=1.0, progress=False)
    src = data.test.x[0]
    greedy, beam = model.generate(src, 6, beam=1), model.generate(src, 6, beam=4)
    model.eval()
    differ = 0
    for i in range(len(src)):
        g, b = _sequence_log_prob(model, src[i:i + 1], greedy[i]), _sequence_log_prob(model, src[i:i + 1], beam[i])
        assert b >= g - 1e-5
        differ += b > g + 1e-5
    assert differ >= 10


def test_beam_width_is_checked():
    with pytest.raises(ValueError, match="beam"):
        _model().generate(encode(["1"]), max_len=3, beam=0)


def test_learns_to_reverse_short_strings():
    torch.manual_seed(0)
    data = nnzoo.load_dataset("reversal", min_len=2, max_len=4, n_train=2000, n_val=100, n_test=200)
    model = nnzoo.create("seq2seq", hidden_size=64, embed_size=16)
    before = exact_match(model, data.test)
    result = nnzoo.fit(model, data, epochs=6, lr=1e-2, batch_size=64, clip_grad_norm=1.0,
                       progress=False)
    assert result.history[-1]["loss"] < 0.3 * result.history[0]["loss"]
    greedy, beam = exact_match(model, data.test), exact_match(model, data.test, beam=3)
    assert before < 0.05 and greedy > 0.6 and beam > 0.6


def test_registered_seq2seq_takes_the_pair_and_counts_params():
    model = nnzoo.create("seq2seq")
    assert nnzoo.count_params(model) == nnzoo.get_entry("seq2seq").params
    data = nnzoo.load_dataset("addition", n_train=10, n_val=5, n_test=5)
    assert model(*data.train.x).shape == (*data.train.y.shape, 14)


def test_reverse_source_reads_each_source_backwards_before_its_padding():
    from nnzoo.models.seq2seq import reverse_each

    src = encode(["123", "4567", "8"])
    assert reverse_each(src, (src != PAD).sum(1)).tolist() == encode(["321", "7654", "8"]).tolist()
    forwards = _model()
    backwards = _model()
    backwards.reverse_source = True
    h_rev, c_rev = backwards.encode(src)
    h, c = forwards.encode(encode(["321", "7654", "8"]))
    assert torch.allclose(h_rev, h) and torch.allclose(c_rev, c)
    assert not torch.allclose(forwards.encode(src)[0], h)  # the order matters to the encoder
    option = nnzoo.create("seq2seq", reverse_source=True)
    assert option.reverse_source and nnzoo.count_params(option) == nnzoo.count_params(
        nnzoo.create("seq2seq"))
