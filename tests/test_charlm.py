"""Character language model: scores, carried state, sampling with temperature and a generator."""

import pytest
import torch

import nnzoo
from nnzoo.models.charlm import CORPUS_ALPHABET, CharLM

ALPHABET = " abcdefgh."


def _model(cell="lstm"):
    torch.manual_seed(0)
    return CharLM(alphabet=ALPHABET, hidden_size=12, num_layers=2, cell=cell).eval()


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_scores_per_step_and_chunks_carry_the_state(cell):
    model = _model(cell)
    x = torch.randint(0, len(ALPHABET), (3, 10))
    whole = model(x)
    assert whole.shape == (3, 10, len(ALPHABET))
    first, state = model.forward_state(x[:, :4])
    second, _ = model.forward_state(x[:, 4:], state)
    assert torch.allclose(torch.cat([first, second], 1), whole, atol=1e-5)


def test_sampling_repeats_with_the_same_generator_and_varies_without():
    model = _model()
    a = model.sample("ab", 40, 1.0, torch.Generator().manual_seed(7))
    b = model.sample("ab", 40, 1.0, torch.Generator().manual_seed(7))
    c = model.sample("ab", 40, 1.0, torch.Generator().manual_seed(8))
    assert a == b and a != c
    assert a.startswith("ab") and len(a) == 42 and set(a) <= set(ALPHABET)


def test_temperature_zero_is_argmax_and_low_temperature_tends_to_it():
    model = _model()
    greedy = model.sample("hea", 30, 0.0)
    # the same text by hand: feed the seed, then always the most likely next character
    ids = torch.tensor([[ALPHABET.index(c) for c in "hea"]])
    scores, state = model.forward_state(ids)
    text = "hea"
    for _ in range(30):
        nxt = int(scores[0, -1].argmax())
        text += ALPHABET[nxt]
        scores, state = model.forward_state(torch.tensor([[nxt]]), state)
    assert greedy == text
    assert model.sample("hea", 30, 1e-4, torch.Generator().manual_seed(1)) == greedy


def test_bad_seed_text_and_missing_alphabet_are_errors():
    model = _model()
    with pytest.raises(ValueError, match="'rz' are not in"):
        model.sample("zebra", 5)
    with pytest.raises(ValueError, match="temperature"):
        model.sample("a", 5, -1.0)
    bare = CharLM(5, hidden_size=4)
    assert bare.alphabet is None
    with pytest.raises(ValueError, match="alphabet"):
        bare.sample("a", 3)
    with pytest.raises(ValueError, match="5 distinct"):
        bare.alphabet = "aab  "


def test_alphabet_travels_with_the_state_dict():
    model = _model()
    other = CharLM(len(ALPHABET), hidden_size=12, num_layers=2)
    assert other.alphabet is None
    other.load_state_dict(model.state_dict())
    assert other.alphabet == ALPHABET
    assert other.sample("a", 12, 0.0) == model.sample("a", 12, 0.0)


def test_registered_char_lm_matches_the_shipped_corpus():
    data = nnzoo.load_dataset("text")
    assert data.num_classes == CORPUS_ALPHABET
    model = nnzoo.create("char-lm")
    assert nnzoo.count_params(model) == nnzoo.get_entry("char-lm").params
    assert model(data.train.x[:2]).shape == (2, 100, CORPUS_ALPHABET)
    assert nnzoo.create("char-lm", alphabet="abc").vocab_size == 3
