"""The Inception extractor's `fast` engine on a CPU: the network compiled by torch.compile with
freezing (batch norm folded into the convolutions, weights packed once for oneDNN), fed fixed-size
batches (the last one padded), so every image passes the same compiled graph.

Its features equal the eager network's to about 1e-5 (absolute, on features of order 1) and are
the same on every run. Sets under `MIN_IMAGES` images, GPUs and `engine="eager"` run eagerly; so
does everything after a failed compile (said once).
"""

from __future__ import annotations

import torch
from torch import nn

from raekit import notices

ENGINES = ("fast", "eager")
# Compiling takes a minute or more; below this many images it costs more than it saves.
MIN_IMAGES = 2000


class FrozenInception:
    """`embed(batch)` for batches of exactly `batch_size` preprocessed-ready [0, 1] images;
    shorter batches are padded with zeros and their padding dropped again."""

    def __init__(self, net: nn.Module, preprocess, batch_size: int):
        self.batch_size, self.preprocess = batch_size, preprocess
        self.compiled = torch.compile(net, dynamic=False, options={"freezing": True})
        self.failed = False

    def __call__(self, batch: torch.Tensor, eager) -> torch.Tensor:
        if self.failed:
            return eager(batch)
        n = len(batch)
        if n < self.batch_size:
            pad = batch.new_zeros((self.batch_size - n, *batch.shape[1:]))
            batch = torch.cat([batch, pad])
        x = self.preprocess(batch).contiguous(memory_format=torch.channels_last)
        try:
            return self.compiled(x)[:n]
        except Exception as error:  # no C++ compiler, an unsupported torch: eager from here on
            self.failed = True
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            notices.note(f"Inception engine fast: torch.compile failed ({first[:160]}); eager")
            return eager(batch[:n])
