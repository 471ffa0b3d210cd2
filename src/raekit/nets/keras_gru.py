"""A GRU stack that computes what Keras 1's GRU computes, so weights trained by GrammarVAE's
Keras models run unchanged (`raekit.models.grammarvae_weights`).

Keras 1 differs from `torch.nn.GRU` in two ways: its gates use the hard sigmoid
clip(0.2 x + 0.5, 0, 1), and the reset gate scales the state before the recurrent product of
the candidate, tanh(x W_h + (r * h) U_h + b_h), where torch applies it after,
tanh(x W_h + b_ih + r * (h U_h + b_hh)). Its output is h = z * h_prev + (1 - z) * candidate.
"""

from __future__ import annotations

import torch
from torch import nn

GATES = ("z", "r", "h")  # Keras 1's order: update, reset, candidate


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    return (0.2 * x + 0.5).clamp(0.0, 1.0)


class KerasGRULayer(nn.Module):
    """One Keras 1 GRU layer: per gate an input matrix W (in, hidden), a recurrent matrix U
    (hidden, hidden) and a bias, stored as Keras stores them."""

    def __init__(self, input_size: int, hidden: int):
        super().__init__()
        self.hidden = hidden
        self.W = nn.ParameterDict({g: nn.Parameter(torch.empty(input_size, hidden)) for g in GATES})
        self.U = nn.ParameterDict({g: nn.Parameter(torch.empty(hidden, hidden)) for g in GATES})
        self.b = nn.ParameterDict({g: nn.Parameter(torch.zeros(hidden)) for g in GATES})
        for g in GATES:  # Keras's initialisers: glorot uniform inputs, orthogonal recurrence
            nn.init.xavier_uniform_(self.W[g])
            nn.init.orthogonal_(self.U[g])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, T, in) -> (N, T, hidden), from a zero state."""
        projected = {g: x @ self.W[g] + self.b[g] for g in GATES}  # all steps at once
        h = x.new_zeros(x.shape[0], self.hidden)
        out = []
        for t in range(x.shape[1]):
            z = hard_sigmoid(projected["z"][:, t] + h @ self.U["z"])
            r = hard_sigmoid(projected["r"][:, t] + h @ self.U["r"])
            candidate = torch.tanh(projected["h"][:, t] + (r * h) @ self.U["h"])
            h = z * h + (1 - z) * candidate
            out.append(h)
        return torch.stack(out, dim=1)


class KerasGRU(nn.Module):
    """A stack of Keras 1 GRU layers with `torch.nn.GRU`'s batch-first call: returns
    (outputs, None)."""

    def __init__(self, input_size: int, hidden: int, num_layers: int = 3):
        super().__init__()
        sizes = [input_size] + [hidden] * (num_layers - 1)
        self.layers = nn.ModuleList(KerasGRULayer(size, hidden) for size in sizes)

    def forward(self, x: torch.Tensor):
        for layer in self.layers:
            x = layer(x)
        return x, None
