"""Ridge regression of each text's class valence on its (scaled) state."""

from __future__ import annotations

import numpy as np

from vaxis.axis.methods.base import register, within_class_scale

#: Ridge penalty per text, in within-class standard-deviation units.
PENALTY_PER_TEXT = 10.0


@register("ridge_score")
def ridge_score(
    states: np.ndarray, class_index: np.ndarray, class_valence: np.ndarray
) -> tuple[np.ndarray, None]:
    """``w = argmin ||y - (X / sigma) w - b||^2 + PENALTY_PER_TEXT * n * ||w||^2``; ``w / sigma``.

    ``y_i = class_valence[class_index[i]]`` for every text, neutral ones included, so graded
    valence values count, not only their sign; ``sigma`` is the pooled within-class standard
    deviation, which makes the penalty independent of the states' units. Reference: Hoerl &
    Kennard (1970), "Ridge regression".

    The penalty is strong for the reason given in ``logistic``: with fewer texts than
    dimensions the per-text fit would pick up story content. In the strong limit the direction
    is the valence-weighted sum of class centroids (scaled by ``1 / sigma**2``). Adequate when
    class valence is graded, e.g. behavioural ratings of the stories.
    """
    scale = within_class_scale(states, class_index, len(class_valence))
    targets = class_valence[class_index]
    from sklearn.linear_model import Ridge  # lazily: the CLI lists methods without sklearn

    model = Ridge(alpha=PENALTY_PER_TEXT * len(states)).fit(states / scale, targets)
    return model.coef_ / scale, None
