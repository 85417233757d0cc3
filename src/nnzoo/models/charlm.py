"""Character-level language model: predict the next character, then write text by sampling.

Graves (2013), "Generating sequences with recurrent neural networks", section 3; Karpathy's
char-rnn (2015). Each character x_t enters as a one-hot vector of the alphabet's V letters; a
recurrent stack (``cell``: lstm by default, any of ``nnzoo.models.sequence.CELLS``) reads them,
and a linear layer gives the scores of the next character:

    h_t = RNN(onehot(x_t), h_{t-1})          (N, T, H)
    p(x_{t+1} | x_≤t) = softmax(W_hy h_t + b_y)            (N, T, V)

Training minimises the per-step cross-entropy (bits per character = loss / ln 2), usually with
truncated back-propagation through time over a long stream (``nnzoo.train.bptt``), which is why
``forward_state`` takes and returns the recurrent state. Writing text:

    x_{t+1} ~ softmax(scores / temperature)

a temperature below 1 sharpens the distribution, above 1 flattens it; temperature 0 takes the
argmax (greedy). The alphabet travels with the weights as the buffer ``alphabet_codes`` (Unicode
code points), so a trained run can write text after ``load_run``.

    >>> lm = CharLM(alphabet="abc ", hidden_size=16)
    >>> len(lm.sample("ab", length=10, generator=torch.Generator().manual_seed(0)))
    12
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nnzoo.errors import NnzooError
from nnzoo.models.sequence import recurrent_layer
from nnzoo.registry import register_model


class CharLM(nn.Module):
    """One-hot characters → recurrent stack → next-character scores.

    Args:
        vocab_size: V, the alphabet's size (or give ``alphabet`` itself).
        hidden_size, num_layers, dropout (between layers), cell: the recurrent stack.
        alphabet: the characters, class k being ``alphabet[k]``; needed only to write text.
    """

    def __init__(self, vocab_size: int | None = None, hidden_size: int = 128, num_layers: int = 2,
                 *, cell: str = "lstm", dropout: float = 0.0, alphabet: str | None = None,
                 steps: int = 100):
        super().__init__()
        if vocab_size is None and alphabet is None:
            raise NnzooError("CharLM needs vocab_size or the alphabet itself.")
        vocab_size = len(alphabet) if vocab_size is None else vocab_size
        self.vocab_size, self.cell = vocab_size, cell
        self.input_shape = (steps,)
        self.rnn = recurrent_layer(cell, vocab_size, hidden_size, num_layers, dropout=dropout)
        self.head = nn.Linear(hidden_size, vocab_size)
        self.register_buffer("alphabet_codes", torch.full((vocab_size,), -1, dtype=torch.long))
        if alphabet is not None:
            self.alphabet = alphabet

    @property
    def alphabet(self) -> str | None:
        codes = self.alphabet_codes.tolist()
        return None if min(codes) < 0 else "".join(map(chr, codes))

    @alphabet.setter
    def alphabet(self, text: str) -> None:
        if len(text) != self.vocab_size or len(set(text)) != len(text):
            raise NnzooError(f"The alphabet must hold {self.vocab_size} distinct characters (the "
                             f"model's vocabulary); got {len(text)} ({len(set(text))} distinct).")
        self.alphabet_codes.copy_(torch.tensor([ord(c) for c in text]))

    def forward_state(self, x: torch.Tensor, state=None):
        """Scores (N, T, V) for ids x (N, T), starting from ``state`` (None: zeros); and the
        final state, to carry into the next chunk of a long stream."""
        x = x.long() if x.is_floating_point() else x  # ids given as floats (a zero sample)
        onehot = F.one_hot(x, self.vocab_size).to(self.head.weight.dtype)  # (N, T, V)
        h, state = self.rnn(onehot, state)                                  # (N, T, H)
        return self.head(h), state                                          # (N, T, V)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_state(x)[0]

    @torch.no_grad()
    def sample(self, seed_text: str, length: int, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> str:
        """``seed_text`` followed by ``length`` characters drawn one at a time.

        The seed is read first (it must use characters of the alphabet; an empty seed starts
        from the first character drawn from the zero state's prediction). ``temperature`` 0
        picks the most likely character at every step; the same ``generator`` seed repeats the
        same text.
        """
        alphabet = self.alphabet
        if alphabet is None:
            raise NnzooError("This CharLM does not know its alphabet; set model.alphabet to the "
                             "training text's characters (data.info['alphabet']).")
        if temperature < 0:
            raise NnzooError(f"temperature must be >= 0 (0 = greedy); got {temperature}.")
        missing = sorted(set(seed_text) - set(alphabet))
        if missing:
            raise NnzooError(f"Seed text characters {''.join(missing)!r} are not in the model's "
                             f"alphabet {alphabet!r}.")
        was_training = self.training
        self.eval()
        device = self.head.weight.device
        index = {c: i for i, c in enumerate(alphabet)}
        if seed_text:
            ids = torch.tensor([[index[c] for c in seed_text]], device=device)  # (1, S)
            scores, state = self.forward_state(ids)
            scores = scores[0, -1]                                               # (V,)
        else:
            state = None
            scores = self.head.bias.new_zeros(self.vocab_size)  # uniform first draw
        out = []
        for _ in range(length):
            if temperature == 0:
                nxt = int(scores.argmax())
            else:
                probs = torch.softmax(scores.double() / temperature, dim=-1)
                nxt = int(torch.multinomial(probs.cpu(), 1, generator=generator))
            out.append(alphabet[nxt])
            scores, state = self.forward_state(torch.tensor([[nxt]], device=device), state)
            scores = scores[0, -1]
        self.train(was_training)
        return seed_text + "".join(out)


# The shipped corpus (nnzoo/data/files/corpus.txt) has 58 distinct characters.
CORPUS_ALPHABET = 58


@register_model("char-lm", family="recurrent", paper="Graves 2013; Karpathy 2015 (char-rnn)",
                input_shape=(100,), dataset="text", task="language-model",
                params=4 * 256 * (58 + 256 + 2) + 257 * 58,
                # On the 18 KB corpus (1 core, ~25 s): validation 1.9 nats/char by epoch ~28, then
                # it overfits; early stopping keeps the best epoch.
                defaults={"epochs": 40, "lr": 3e-3,
                          "optimizer": "adam", "batch_size": 8, "clip_grad_norm": 1.0,
                          "patience": 5})
def char_lm(*, num_classes: int = CORPUS_ALPHABET, hidden_size: int = 256, num_layers: int = 1,
            cell: str = "lstm", dropout: float = 0.0, alphabet: str | None = None,
            steps: int = 100) -> CharLM:
    """Character-level language model (one-hot → LSTM → softmax) with sampling."""
    if alphabet is not None and len(alphabet) != num_classes:
        num_classes = len(alphabet)
    return CharLM(num_classes, hidden_size, num_layers, cell=cell, dropout=dropout,
                  alphabet=alphabet, steps=steps)
