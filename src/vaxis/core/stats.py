"""Paired tests of an intervention against the baseline, and corrections across interventions.

Every test looks at the paired differences d = a - b of one metric (e.g. balanced accuracy)
between an intervention ``a`` and the baseline ``b`` on the same units in the same order
(positive d: the intervention is better), and returns a :class:`TestResult` whose
``protocol`` names the pairing unit, because the unit decides what the p-value means:

- :func:`paired_t` over 5 seeds is the study's test, kept for comparability and labelled so.
  With 4 degrees of freedom it needs |t| > 7.17 to pass Holm's first step over 25 comparisons.
- :func:`wilcoxon_signed_rank`: with 5 seeds its exact two-sided p can never go below
  2 / 2^5 = 0.0625, so it cannot reject anything; pair over test subjects instead (23 in the
  study's split, 123 in 10-fold cross-validation).
- :func:`sign_flip_permutation`: randomisation test of the mean difference (exact when all
  sign patterns can be enumerated), valid whenever d is symmetric about 0 under the null.
- :func:`nadeau_bengio`: cross-validation folds share training data, so their differences are
  positively correlated and the plain t over folds is anti-conservative; the corrected
  resampled t (Nadeau & Bengio 2003, Machine Learning 52:239) inflates the variance.
- :func:`holm` (family-wise error) and :func:`benjamini_hochberg` (false discovery rate):
  adjusted p-values across interventions; reject where adjusted p <= alpha.

Pairing over test subjects conditions on the trained models: it asks whether these models
differ on new subjects, not whether retraining with new seeds would reproduce the difference.
Every subject of one trained model moves together when that model is a little better or worse
overall, so over retraining the subject-paired tests are anti-conservative (see
:func:`crossed_t` for the measured rates). :func:`crossed_t` takes the (seeds x subjects)
matrices of both arms and counts the seed-level variance as well: it is the test to decide by
when per-run, per-subject scores are available.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

MAX_EXACT_SIGNS = 16  # enumerate all 2^n sign patterns up to this n (65,536 rows)
_BLOCK = 4096  # Monte-Carlo sign patterns drawn per block (bounded memory)
_TIE_DECIMALS = 12  # Wilcoxon: differences equal up to float rounding are ties (or zeros)


@dataclass(frozen=True)
class TestResult:
    """One paired test; ``effect`` is the mean difference a - b, CI NaN where the test has none."""

    __test__ = False  # not a pytest test class

    name: str
    statistic: float
    p_value: float
    n: int
    effect: float
    ci_low: float
    ci_high: float
    protocol: str
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready (NaN becomes None)."""
        return {
            k: None if isinstance(v, float) and math.isnan(v) else v
            for k, v in asdict(self).items()
        }


def _differences(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """d = a - b after checking both are finite 1-D arrays of the same length >= 2."""
    a_arr, b_arr = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a_arr.ndim != 1 or a_arr.shape != b_arr.shape:
        raise ValueError(
            f"paired samples must be two 1-D arrays of equal length (one value per unit), "
            f"got shapes {a_arr.shape} and {b_arr.shape}"
        )
    return check_differences(a_arr - b_arr)


def check_differences(d: ArrayLike) -> np.ndarray:
    """``d`` as a float array after checking it is finite, 1-D and has at least 2 entries."""
    arr = np.asarray(d, dtype=float)
    if arr.ndim != 1 or arr.size < 2:
        raise ValueError(f"need a 1-D array of at least 2 paired differences, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("paired values contain NaN or inf: drop that unit from both arms first")
    return arr


def _t_result(
    name: str,
    d: np.ndarray,
    se: float,
    protocol: str,
    confidence: float,
    df: float | None = None,
) -> TestResult:
    """Two-sided t test of mean(d) = 0 with standard error ``se`` and ``df`` (len(d) - 1)."""
    mean, df = float(d.mean()), d.size - 1 if df is None else df
    if se == 0:  # all differences equal: t is 0 (all zero) or infinite
        t = 0.0 if mean == 0 else math.copysign(math.inf, mean)
        note = "all paired differences are equal (zero variance)"
        return TestResult(name, t, float(mean == 0), d.size, mean, mean, mean, protocol, note)
    t = mean / se
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
    p = float(2 * stats.t.sf(abs(t), df))
    return TestResult(name, t, p, d.size, mean, mean - half, mean + half, protocol)


def paired_t(
    a: ArrayLike, b: ArrayLike, *, unit: str = "seed", confidence: float = 0.95
) -> TestResult:
    """Paired t test of a - b (as ``scipy.stats.ttest_rel``) with its t interval of the mean.

    Over seeds this is the study's test, labelled so in ``protocol``.
    """
    d = _differences(a, b)
    label = " (the study's test)" if unit == "seed" else ""
    protocol = f"paired t over {d.size} {unit}s{label}"
    return _t_result("paired_t", d, float(d.std(ddof=1) / math.sqrt(d.size)), protocol, confidence)


def nadeau_bengio(
    diffs_per_fold: ArrayLike, n_train: float, n_test: float, *, confidence: float = 0.95
) -> TestResult:
    """Corrected resampled t over k folds: variance s^2 * (1/k + n_test/n_train), k - 1 df.

    ``n_train`` and ``n_test`` are the sizes of one fold's training and test parts in the same
    unit (samples or subjects; only their ratio matters). The interval is the corrected t one.
    """
    d = check_differences(diffs_per_fold)
    if not (n_train > 0 and n_test > 0):
        raise ValueError(f"n_train and n_test must be positive, got {n_train} and {n_test}")
    ratio = n_test / n_train
    se = math.sqrt(float(d.var(ddof=1)) * (1 / d.size + ratio))
    protocol = (
        f"Nadeau-Bengio corrected t over {d.size} cross-validation folds "
        f"(n_test/n_train = {ratio:.3g})"
    )
    return _t_result("nadeau_bengio", d, se, protocol, confidence)


def crossed_t(a: ArrayLike, b: ArrayLike, *, confidence: float = 0.95) -> TestResult:
    """t test of the mean difference over runs x subjects, with seed and subject variance.

    ``a`` and ``b`` are (n_seeds, n_subjects) matrices of one metric (e.g. per-subject balanced
    accuracy of each trained model): row i of both arms pairs two runs (same seed, or any fixed
    pairing of independent runs), column j is the same test subject in both. The differences
    ``d[i, j] = a - b`` follow the crossed random-effects model
    ``d = delta + u_i + v_j + e_ij`` (u: run-level luck shared by all subjects of one model,
    v: subject-specific effect, e: the rest), so with S seeds and J subjects
    ``Var(mean d) = s_u^2 / S + s_v^2 / J + s_e^2 / (S J)``. From the two-way ANOVA mean
    squares (seed MS_s, subject MS_j, residual MS_e) it is estimated as
    ``(MS_s + MS_j - MS_e) / (S J)``, each variance component truncated at 0 (a mean square
    below MS_e drops with MS_e), with Satterthwaite degrees of freedom. Limits, exactly:
    without evidence of subject variance it is the paired t over the S per-seed mean
    differences (S - 1 df); without seed variance the paired t over the J per-subject means
    (J - 1 df). The subject-paired tests leave out ``s_u^2 / S``, the term that makes them
    reject too often when models are retrained.

    Measured through real training (:mod:`vaxis.align.null_experiment`; synthetic FACED-like
    cohorts, 12 test subjects, 5 + 5 seeds, the intervention = the baseline recipe with other
    seeds, so the null is true; rejection rates at alpha 0.05, 95% Clopper-Pearson intervals):

    - undertrained binary linear decoder (strong run-level luck), n = 400: crossed t 0.062
      [0.041, 0.091], the study's paired t over seeds 0.065 [0.043, 0.094]; subject-paired
      sign-flip 0.340 [0.294, 0.389], Wilcoxon 0.335 [0.289, 0.384], paired t 0.343
      [0.296, 0.391];
    - 9-class MLP (weak run-level luck), n = 200: crossed t 0.030 [0.011, 0.064], seed t
      0.035 [0.014, 0.071]; subject-paired 0.105-0.115 [0.066, 0.168];
    - power, same binary setting, intervention = 3x learning rate (balanced accuracy
      ~0.59 -> ~0.71), n = 100: crossed t 0.96 [0.90, 0.99]; 6 instead of 3 epochs: 0.42
      [0.32, 0.52] (subject-paired 0.88, not to be trusted: they also reject 34% of nulls);
      9-class MLP, 3x learning rate: 0.73 [0.63, 0.81] (seed t 0.77 [0.68, 0.85]).

    Without run-level luck (simulated) it is conservative (~0.02 at alpha 0.05) and keeps
    about half the subject-paired test's power; it cannot tell that the seed variance is 0.
    """
    a_arr, b_arr = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a_arr.ndim != 2 or a_arr.shape != b_arr.shape or min(a_arr.shape) < 2:
        raise ValueError(
            "crossed_t needs two (n_seeds, n_subjects) matrices of equal shape with at least "
            f"2 seeds and 2 subjects, got shapes {a_arr.shape} and {b_arr.shape}"
        )
    d = a_arr - b_arr
    if not np.isfinite(d).all():
        raise ValueError("paired values contain NaN or inf: drop that run or subject first")
    n_seeds, n_subjects = d.shape
    seed_means, subject_means, grand = d.mean(axis=1), d.mean(axis=0), float(d.mean())
    df_s, df_j = n_seeds - 1, n_subjects - 1
    ms_s = n_subjects * float(((seed_means - grand) ** 2).sum()) / df_s
    ms_j = n_seeds * float(((subject_means - grand) ** 2).sum()) / df_j
    residual = d - seed_means[:, None] - subject_means[None, :] + grand
    ms_e = float((residual**2).sum()) / (df_s * df_j)
    terms = [(ms, df) for ms, df in ((ms_s, df_s), (ms_j, df_j)) if ms > ms_e]
    if len(terms) == 2:
        terms.append((-ms_e, df_s * df_j))
    elif not terms:
        terms = [(ms_e, df_s * df_j)]
    total = sum(ms for ms, _ in terms)
    df = total**2 / sum(ms**2 / df for ms, df in terms) if total > 0 else float(d.size - 1)
    protocol = (
        f"crossed t over {n_seeds} seeds x {n_subjects} subjects "
        "(seed and subject variance, Satterthwaite df)"
    )
    note = f"df = {df:.3g}; variance components: " + ", ".join(
        f"{name} {max(value, 0.0):.3g}"
        for name, value in (
            ("seed", (ms_s - ms_e) / n_subjects),
            ("subject", (ms_j - ms_e) / n_seeds),
            ("residual", ms_e),
        )
    )
    result = _t_result("crossed_t", d.ravel(), math.sqrt(total / d.size), protocol, confidence, df)
    return replace(result, n=n_subjects, note=result.note or note)


def _all_signs(n: int) -> np.ndarray:
    """(2^n, n) matrix of every +-1 sign pattern."""
    bits = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    return (2 * bits - 1).astype(float)


def _tolerance(values: np.ndarray) -> float:
    """Sums of the same numbers in another order differ by rounding: count those as ties."""
    return 1e-9 * float(np.abs(values).sum())


def _exact_flip_p(values: np.ndarray) -> float:
    """Share of all 2^n sign patterns with |sum| at least the observed |sum|."""
    null = np.abs(_all_signs(values.size) @ values)
    return float(np.mean(null >= abs(values.sum()) - _tolerance(values)))


def _monte_carlo_flip_p(values: np.ndarray, n_permutations: int, rng: np.random.Generator) -> float:
    """(1 + b) / (1 + N), b of N random sign patterns reaching the observed |sum|."""
    threshold = abs(values.sum()) - _tolerance(values)
    hits = 0
    for start in range(0, n_permutations, _BLOCK):
        size = min(_BLOCK, n_permutations - start)
        signs = 2.0 * rng.integers(0, 2, size=(size, values.size)) - 1.0
        hits += int(np.count_nonzero(np.abs(signs @ values) >= threshold))
    return (1 + hits) / (1 + n_permutations)


def sign_flip_permutation(
    a: ArrayLike,
    b: ArrayLike,
    *,
    n_permutations: int = 10_000,
    seed: int | np.random.Generator | None = 0,
    unit: str = "subject",
) -> TestResult:
    """Two-sided sign-flip test of the mean difference (statistic: mean of a - b).

    Exact when 2^n <= ``n_permutations`` (all patterns, the identity included, so the smallest
    p is 2 / 2^n); otherwise ``n_permutations`` random patterns and p = (1 + b) / (1 + N).
    """
    d = _differences(a, b)
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be >= 1, got {n_permutations}")
    if d.size <= MAX_EXACT_SIGNS and 2**d.size <= n_permutations:
        p, note = _exact_flip_p(d), f"exact: all 2^{d.size} = {2**d.size} sign patterns"
    else:
        p = _monte_carlo_flip_p(d, n_permutations, np.random.default_rng(seed))
        note = f"Monte Carlo: {n_permutations} random sign patterns, p = (1 + b) / (1 + N)"
    mean = float(d.mean())
    protocol = f"sign-flip permutation over {d.size} {unit}s"
    return TestResult("sign_flip", mean, p, d.size, mean, math.nan, math.nan, protocol, note)


def wilcoxon_signed_rank(a: ArrayLike, b: ArrayLike, *, unit: str = "subject") -> TestResult:
    """Two-sided Wilcoxon signed-rank test of a - b; zero differences dropped ('wilcox').

    Differences are rounded to 12 decimals first, so that metrics on a grid (e.g. per-subject
    balanced accuracy in steps of 1/84) give true ties and zeros despite float rounding.
    Dropping zeros (Wilcoxon's rule, scipy's and R's default) tests the sign of the non-zero
    differences; the note says how many were dropped. The p-value is scipy's exact one when
    there are no ties (n <= 50); with tied |d| and n <= 16 it is exact conditional on the
    mid-ranks (all 2^n sign patterns); otherwise the normal approximation with tie correction
    and no continuity correction. Statistic: the smaller of the positive and negative rank sums.
    No confidence interval (see :func:`vaxis.core.effects.bootstrap_ci`).
    """
    d = np.round(_differences(a, b), _TIE_DECIMALS)
    nonzero = d[d != 0]
    statistic, p, method = _signed_rank_p(nonzero)
    note = f"{d.size - nonzero.size} zero differences dropped; {method}"
    protocol = f"Wilcoxon signed-rank over {d.size} {unit}s"
    mean = float(d.mean())
    return TestResult("wilcoxon", statistic, p, d.size, mean, math.nan, math.nan, protocol, note)


def _signed_rank_p(nonzero: np.ndarray) -> tuple[float, float, str]:
    """(smaller rank sum, two-sided p, how p was computed) for non-zero differences."""
    if nonzero.size == 0:
        return 0.0, 1.0, "all differences are zero"
    ranks = stats.rankdata(np.abs(nonzero))
    positive = float(ranks[nonzero > 0].sum())
    statistic = min(positive, float(ranks.sum()) - positive)
    if np.unique(ranks).size == ranks.size and nonzero.size <= 50:
        return statistic, float(stats.wilcoxon(nonzero, method="exact").pvalue), "exact"
    if nonzero.size <= MAX_EXACT_SIGNS:
        p = _exact_flip_p(np.sign(nonzero) * ranks)
        return statistic, p, "exact conditional on tied mid-ranks"
    p = float(stats.wilcoxon(nonzero, method="asymptotic").pvalue)
    return statistic, p, "normal approximation with tie correction"


def _check_p(pvalues: ArrayLike) -> np.ndarray:
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1 or not np.isfinite(p).all() or ((p < 0) | (p > 1)).any():
        raise ValueError("p-values must be a 1-D array of finite numbers in [0, 1]")
    return p


def holm(pvalues: ArrayLike) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error), in the input order."""
    p = _check_p(pvalues)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


def benjamini_hochberg(pvalues: ArrayLike) -> np.ndarray:
    """Benjamini-Hochberg step-up adjusted p-values (false discovery rate), in the input order."""
    p = _check_p(pvalues)
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    out = np.empty(m)
    out[order] = adjusted
    return out
