"""Synthetic data with known feature interactions."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

__all__ = ["make_planted_interaction"]


def make_planted_interaction(
    n_samples=5000,
    n_categories=20,
    n_noise_fields=2,
    task="classification",
    noise=0.05,
    random_state=None,
):
    """Ads data whose target depends only on a publisher x advertiser pair.

    Every publisher and every advertiser belongs to one of two hidden
    groups; an ad works (``y = 1``) when publisher and advertiser share their
    group, like a fashion advertiser on a fashion magazine. Each group holds
    half of the categories, so neither column alone says anything about
    ``y``: a linear model on the one-hot columns scores at chance, while a
    model of pairwise interactions can learn the rule, even for a
    (publisher, advertiser) pair it never saw together.

    Parameters
    ----------
    n_samples : int, default=5000
    n_categories : int, default=20
        Number of publishers, and of advertisers (even).
    n_noise_fields : int, default=2
        Extra categorical columns ``noise0, noise1, ...`` unrelated to ``y``
        (``n_categories`` values each).
    task : {"classification", "regression"}, default="classification"
        ``"classification"``: ``y`` in {0, 1}, each label flipped with
        probability ``noise``. ``"regression"``: ``y = +1`` or ``-1`` plus
        Gaussian noise of standard deviation ``noise``.
    noise : float, default=0.05
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : DataFrame of shape (n_samples, 2 + n_noise_fields)
        String columns ``publisher``, ``advertiser``, then the noise columns.
    y : ndarray of shape (n_samples,)

    Examples
    --------
    >>> from sklfi.datasets import make_planted_interaction
    >>> X, y = make_planted_interaction(n_samples=4, random_state=0)
    >>> list(X.columns)
    ['publisher', 'advertiser', 'noise0', 'noise1']
    """
    if task not in ("classification", "regression"):
        raise ValueError(
            f"task must be 'classification' or 'regression', got {task!r}."
        )
    if n_categories < 2 or n_categories % 2:
        raise ValueError(f"n_categories must be even and >= 2, got {n_categories}.")
    rng = check_random_state(random_state)
    group = np.arange(n_categories) % 2  # category c is in group c % 2
    pub = rng.randint(n_categories, size=n_samples)
    adv = rng.randint(n_categories, size=n_samples)
    match = group[pub] == group[adv]
    columns = {
        "publisher": np.char.add("pub", pub.astype(str)),
        "advertiser": np.char.add("adv", adv.astype(str)),
    }
    for k in range(n_noise_fields):
        values = rng.randint(n_categories, size=n_samples)
        columns[f"noise{k}"] = np.char.add(f"n{k}_", values.astype(str))
    X = pd.DataFrame({name: values.astype(object) for name, values in columns.items()})
    if task == "classification":
        y = (match ^ (rng.uniform(size=n_samples) < noise)).astype(np.int64)
    else:
        y = np.where(match, 1.0, -1.0) + noise * rng.normal(size=n_samples)
    return X, y
