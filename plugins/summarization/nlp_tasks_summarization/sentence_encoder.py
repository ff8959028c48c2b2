"""The PyTorch part of the extractive head: sentence positions, context and one score each.

Imported only when a model is built, so that the modules spaCy imports through
entry points stay free of torch.
"""

import torch
from torch import nn


class SentenceEncoder(nn.Module):
    """Score sentences in their document: position embedding, self-attention, one logit each.

    The listener's vectors know a sentence's words but not where it sits in a
    long doc, and news puts its main facts first; a learned embedding of the
    sentence's index (clipped at ``max_positions - 1``) carries that. A few
    transformer layers over the doc's sentences (as in BertSum) let a score
    depend on the rest of the doc. Attention runs within blocks of ``window``
    consecutive sentences, so the work per sentence stays bounded however
    long the doc.

    width (int): Width of the sentence vectors.
    n_layers (int): Transformer layers over sentences; 0 scores each sentence alone.
    n_heads (int): Attention heads; must divide ``width``.
    max_positions (int): Distinct sentence positions the embedding tells apart.
    window (int): Most sentences that attend to each other.
    dropout (float): Dropout rate in training.
    """

    def __init__(
        self,
        width: int,
        n_layers: int,
        n_heads: int,
        max_positions: int,
        window: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.max_positions = max_positions
        self.window = window
        self.positions = nn.Embedding(max_positions, width)
        self.dropout = nn.Dropout(dropout)
        self.layers: nn.Module | None = None
        if n_layers:
            layer = nn.TransformerEncoderLayer(
                width,
                n_heads,
                dim_feedforward=4 * width,
                dropout=dropout,
                activation="gelu",
                batch_first=True,
                norm_first=True,
            )
            self.layers = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.output = nn.Linear(width, 1)

    def forward(self, vectors: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """One logit per sentence.

        vectors (torch.Tensor): Sentence vectors of a batch, doc after doc, (n, width).
        lengths (torch.Tensor): Sentences per doc (int64), summing to n.
        RETURNS (torch.Tensor): The logits, (n,).
        """
        starts = torch.cumsum(lengths, 0) - lengths
        index = torch.arange(vectors.shape[0], device=vectors.device)
        index -= torch.repeat_interleave(starts, lengths)
        hidden = vectors + self.positions(index.clamp(max=self.max_positions - 1))
        hidden = self.dropout(hidden)
        if self.layers is not None:
            hidden = self._contextualize(hidden, lengths, index)
        return self.output(self.norm(hidden)).squeeze(-1)

    def _contextualize(
        self, hidden: torch.Tensor, lengths: torch.Tensor, index: torch.Tensor
    ) -> torch.Tensor:
        # Each doc's sentences are cut into blocks of `window`; all blocks of the
        # batch are padded to one length and attend within themselves only.
        blocks = (lengths + self.window - 1) // self.window
        first_block = torch.cumsum(blocks, 0) - blocks
        block = torch.repeat_interleave(first_block, lengths) + index // self.window
        slot = index % self.window
        size = int(min(self.window, int(lengths.max())))
        padded = hidden.new_zeros((int(blocks.sum()), size, hidden.shape[1]))
        padded = padded.index_put((block, slot), hidden)
        padding = torch.ones(padded.shape[:2], dtype=torch.bool, device=hidden.device)
        padding[block, slot] = False
        return self.layers(padded, src_key_padding_mask=padding)[block, slot]
