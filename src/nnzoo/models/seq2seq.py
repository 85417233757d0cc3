"""Encoder-decoder (seq2seq): one recurrent network reads the source, another writes the target.

Sutskever, Vinyals & Le (2014), "Sequence to sequence learning with neural networks" (LSTM);
Cho et al. (2014) (GRU). The encoder's final state is the decoder's initial state:

    encoder:  h_s = RNN_enc(E_src[x_s], h_{s-1}),            s = 1 … S   → state h_S
    decoder:  d_0 = h_S,  d_u = RNN_dec(E_tgt[y_{u-1}], d_{u-1}),  y_0 = BOS
              p(y_u | y_<u, x) = softmax(W d_u + b)

Training uses teacher forcing: the decoder reads the true previous token ``tgt_in`` = BOS, y_1,
y_2, … and is scored against ``tgt_out`` = y_1, y_2, …, EOS (padding -100 is ignored). Decoding
feeds back its own tokens until EOS:

- greedy: y_u = argmax p(y_u | y_<u, x);
- beam search with width k: keep the k highest-scoring prefixes (score = Σ log p), extend each
  by every token, keep the best k; a finished prefix (ended by EOS) stays as it is. The best
  finished prefix wins. With k = 1 this is greedy decoding, token for token.

By default the source is read in its own order; ``reverse_source=True`` reads each source
backwards, as Sutskever et al. did (its padding stays at the end), which puts the source's last
tokens, the least significant digits of a sum, nearest the decoder. Deviations, stated: the
beam's score is the plain sum of log-probabilities, with no length normalisation (the tasks
here fix the target length by the source); the source is read up to its own length (padding
does not touch the encoder's state).

    >>> model = Seq2Seq(vocab_size=14, hidden_size=32)
    >>> src = torch.tensor([[5, 6, 7, 0]])                  # "234" + padding
    >>> model.generate(src, max_len=5, beam=3).shape[0]
    1
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nnzoo.data.sequences import BOS, EOS, PAD, decode
from nnzoo.errors import NnzooError
from nnzoo.models.sequence import recurrent_layer
from nnzoo.registry import register_model


def map_state(state, fn):
    """Apply ``fn`` to every tensor of a recurrent state (h, or the LSTM's (h, c))."""
    return tuple(fn(s) for s in state) if isinstance(state, tuple) else fn(state)


def reverse_each(ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Each row's first ``lengths[i]`` ids in reverse order, its padding left at the end."""
    steps = torch.arange(ids.shape[1], device=ids.device)[None, :]
    index = lengths[:, None] - 1 - steps                                   # (N, S)
    return ids.gather(1, index.clamp_min(0)).masked_fill(index < 0, PAD)


class Seq2Seq(nn.Module):
    """Encoder and decoder, each an embedding and a recurrent stack of ``cell``; a linear head.

    Source and target share one vocabulary (``nnzoo.data.sequences.TOKENS``: PAD 0, BOS 1, EOS 2).
    """

    def __init__(self, vocab_size: int, embed_size: int = 32, hidden_size: int = 128,
                 num_layers: int = 1, *, cell: str = "lstm", dropout: float = 0.0,
                 src_len: int = 8, reverse_source: bool = False):
        super().__init__()
        self.vocab_size, self.cell, self.reverse_source = vocab_size, cell, reverse_source
        self.input_shape = (src_len,)
        self.src_embed = nn.Embedding(vocab_size, embed_size, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(vocab_size, embed_size, padding_idx=PAD)
        self.encoder = recurrent_layer(cell, embed_size, hidden_size, num_layers, dropout=dropout)
        self.decoder = recurrent_layer(cell, embed_size, hidden_size, num_layers, dropout=dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def encode(self, src: torch.Tensor):
        """The encoder's final state for source ids (N, S), each read up to its own length."""
        lengths = (src != PAD).sum(1).clamp_min(1)
        if self.reverse_source:
            src = reverse_each(src, lengths)
        _, state = self.encoder(self.src_embed(src), lengths=lengths)     # (L, N, H)
        return state

    def decode_steps(self, tokens: torch.Tensor, state):
        """Scores (N, U, V) for decoder inputs (N, U) from ``state``; and the new state."""
        out, state = self.decoder(self.tgt_embed(tokens), state)          # (N, U, H)
        return self.head(out), state

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher forcing: scores (N, U, V) of every target token given the true prefix.

        Without ``tgt_in`` the decoder reads BOS alone (the first token's scores, (N, 1, V));
        ids given as floats (a layer table's zero sample) are rounded to integers.
        """
        src = src.long() if src.is_floating_point() else src
        if tgt_in is None:
            tgt_in = src.new_full((src.shape[0], 1), BOS)
        return self.decode_steps(tgt_in, self.encode(src))[0]

    @torch.no_grad()
    def generate(self, src: torch.Tensor, max_len: int, beam: int = 1) -> torch.Tensor:
        """Decoded token ids (N, ≤ max_len): each row ends at its EOS, then PAD.

        ``beam`` = 1 is greedy decoding; k > 1 is beam search of width k.
        """
        if not 1 <= beam <= self.vocab_size:
            raise NnzooError(f"beam must be between 1 and the vocabulary size {self.vocab_size}; "
                             f"got {beam}.")
        was_training = self.training
        self.eval()
        out = self.greedy(src, max_len) if beam == 1 else self.beam_search(src, max_len, beam)
        self.train(was_training)
        return out

    def greedy(self, src: torch.Tensor, max_len: int) -> torch.Tensor:
        state = self.encode(src)
        token = src.new_full((src.shape[0],), BOS)
        finished = torch.zeros_like(token, dtype=torch.bool)
        out = []
        for _ in range(max_len):
            scores, state = self.decode_steps(token[:, None], state)       # (N, 1, V)
            token = scores[:, 0].argmax(-1).masked_fill(finished, PAD)     # (N,)
            out.append(token)
            finished |= token == EOS
            if finished.all():
                break
        return torch.stack(out, 1)

    def beam_search(self, src: torch.Tensor, max_len: int, k: int) -> torch.Tensor:
        n, v = src.shape[0], self.vocab_size
        state = map_state(self.encode(src), lambda s: s.repeat_interleave(k, dim=1))  # (L, N·k, H)
        prefixes = src.new_full((n * k, 1), BOS)
        scores = torch.full((n, k), float("-inf"), device=src.device)
        scores[:, 0] = 0.0                        # one live prefix per sample at the start
        finished = torch.zeros(n * k, dtype=torch.bool, device=src.device)
        stay = torch.full((v,), float("-inf"), device=src.device)
        stay[PAD] = 0.0                           # a finished prefix only extends by PAD, for free
        offsets = (torch.arange(n, device=src.device) * k)[:, None]             # (N, 1)
        for _ in range(max_len):
            logits, state = self.decode_steps(prefixes[:, -1:], state)
            logp = F.log_softmax(logits[:, 0].float(), dim=-1)                   # (N·k, V)
            logp = torch.where(finished[:, None], stay, logp)
            total = (scores.reshape(n * k, 1) + logp).view(n, k * v)
            scores, best = total.topk(k, dim=1)                                 # (N, k)
            parent = (offsets + best // v).view(-1)                             # rows of N·k
            token = (best % v).view(-1)
            prefixes = torch.cat([prefixes[parent], token[:, None]], dim=1)
            state = map_state(state, lambda s: s.index_select(1, parent))
            finished = finished[parent] | (token == EOS)
            if finished.all():
                break
        done = finished.view(n, k)
        ranked = torch.where(done | ~done.any(1, keepdim=True), scores, float("-inf"))
        winner = offsets[:, 0] + ranked.argmax(1)       # the best finished prefix, if any is
        return prefixes[winner, 1:]


@torch.no_grad()
def exact_match(model: Seq2Seq, split, *, beam: int = 1, batch_size: int = 500,
                examples: int = 0):
    """Share of samples whose decoded target equals the true one (whole string, EOS included).

    With ``examples`` > 0 also returns that many ``(source, target, output)`` strings of errors.
    """
    (src, _), y = split.x, split.y
    max_len = y.shape[1] + 2
    hits, wrong = 0, []
    device = next(model.parameters()).device
    for start in range(0, len(y), batch_size):
        s = src[start:start + batch_size].to(device)
        out = model.generate(s, max_len, beam=beam).cpu()
        for row, (source, target) in enumerate(zip(s.cpu(), y[start:start + batch_size])):
            ok = _ends(out[row]) and decode(out[row]) == decode(target.clamp_min(PAD))
            hits += ok
            if not ok and len(wrong) < examples:
                wrong.append((decode(source), decode(target.clamp_min(PAD)), decode(out[row])))
    score = hits / max(1, len(y))
    return (score, wrong) if examples else score


def _ends(tokens: torch.Tensor) -> bool:
    return bool((tokens == EOS).any())


@register_model("seq2seq", family="recurrent", paper="Sutskever, Vinyals & Le 2014; Cho et al. 2014",
                input_shape=(8,), dataset="reversal", task="seq2seq",
                params=2 * 14 * 32 + 2 * 4 * 128 * (32 + 128 + 2) + 129 * 14,
                defaults={"epochs": 10, "lr": 3e-3, "optimizer": "adam", "batch_size": 128,
                          "clip_grad_norm": 1.0, "schedule": "cosine"})
def seq2seq(*, num_classes: int = 14, embed_size: int = 32, hidden_size: int = 128,
            num_layers: int = 1, cell: str = "lstm", dropout: float = 0.0, src_len: int = 8,
            reverse_source: bool = False) -> Seq2Seq:
    """Encoder-decoder (LSTM or ``cell=gru``) with teacher forcing, greedy and beam decoding."""
    return Seq2Seq(num_classes, embed_size, hidden_size, num_layers, cell=cell, dropout=dropout,
                   src_len=src_len, reverse_source=reverse_source)
