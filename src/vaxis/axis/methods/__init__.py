"""Registry of direction methods: one small file per method, each a pure function.

Every method maps ``(states (n, d), class_index (n,), class_valence (k,))`` to a unit
:class:`Direction` oriented so that higher-valence classes project higher. Importing this
package registers them all; :func:`get_method` looks one up by name. To add a method, write one
file with a ``@register("name")`` function and import it here.
"""

# Importing the method modules registers them.
from vaxis.axis.methods import (  # noqa: F401
    centroid_pca,
    lda,
    logistic,
    mean_difference,
    ridge_score,
)
from vaxis.axis.methods.base import (
    METHODS,
    DegenerateDirectionError,
    Direction,
    MethodFn,
    class_centroids,
    get_method,
    register,
)

__all__ = [
    "METHODS",
    "DegenerateDirectionError",
    "Direction",
    "MethodFn",
    "class_centroids",
    "get_method",
    "register",
]
