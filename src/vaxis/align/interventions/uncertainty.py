"""Uncertainty-weighted multi-task: classification and V read-out balanced by learned variances.

After Kendall, Gal & Cipolla (2018, "Multi-task learning using uncertainty to weigh losses"):
two learned log-variances ``s_c`` (classification) and ``s_v`` (V read-out) weigh the tasks,

    L = exp(-s_c) * CE + s_c + 0.5 * exp(-s_v) * MSE_V + 0.5 * s_v,

with ``MSE_V`` the auxiliary MSE head's loss (a linear head on the penultimate features predicts
each sample's stimulus, else class, V position). The study names the intervention but does not
publish its formula; this is our definition. The regression term is Kendall's Gaussian
likelihood; the classification term uses the common unhalved form ``exp(-s) CE + s`` (Kendall's
softmax approximation has ``s / 2``), so that at the optimum in ``s`` each task is weighed by
the inverse of its own loss (``exp(s_c) = CE``, ``exp(s_v) = MSE_V``).

The engine already adds the plain cross-entropy with weight 1, so this loss returns the
difference, ``(exp(-s_c) - 1) * CE + s_c + 0.5 * exp(-s_v) * MSE_V + 0.5 * s_v``, with CE computed
from the logits it receives: engine CE + this loss = ``L`` at the default weight 1 (a weight
``w`` gives ``CE + w (L - CE)``). A distillation term, when the training config has one, stays
outside the weighting. ``s_c``, ``s_v`` (both starting at 0, i.e. unit weights) and the head are
the loss's parameters, trained with the decoder (and, like it, under the optimiser's weight decay).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from vaxis.align.interventions.base import AlignmentTargets, AuxLoss
from vaxis.decoders.base import Decoder
from vaxis.decoders.train import Batch


def uncertainty_objective(
    ce: torch.Tensor, mse: torch.Tensor, log_var_c: torch.Tensor, log_var_v: torch.Tensor
) -> torch.Tensor:
    """``exp(-s_c) CE + s_c + 0.5 exp(-s_v) MSE + 0.5 s_v`` (the whole objective ``L``)."""
    classification = torch.exp(-log_var_c) * ce + log_var_c
    regression = 0.5 * (torch.exp(-log_var_v) * mse + log_var_v)
    return classification + regression


class UncertaintyWeighted(AuxLoss):
    """Kendall-style learned task weights for CE and the V read-out (see module)."""

    def __init__(
        self, targets: AlignmentTargets, weight: float, model: Decoder | None = None
    ) -> None:
        super().__init__(targets, weight)
        model = self.require_model(model, "uncertainty")
        self.head = nn.Linear(model.feature_dim, 1)
        self.log_var_c = nn.Parameter(torch.zeros(()))
        self.log_var_v = nn.Parameter(torch.zeros(()))

    def readout_mse(self, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        """``MSE_V``: mean squared error of the head's V positions."""
        return ((self.head(features).squeeze(1) - self.sample_positions(batch)) ** 2).mean()

    def loss(self, logits: torch.Tensor, features: torch.Tensor, batch: Batch) -> torch.Tensor:
        ce = F.cross_entropy(logits, batch.y)
        mse = self.readout_mse(features, batch)
        return uncertainty_objective(ce, mse, self.log_var_c, self.log_var_v) - ce
