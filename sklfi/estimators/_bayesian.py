"""Bayesian factorization machines: FM by Gibbs sampling (libFM's MCMC)."""

from __future__ import annotations

import time
from numbers import Integral, Real

import numpy as np
from scipy.special import ndtr, ndtri
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from .._checks import all_or_nothing, check_memory, store_params
from .._input import FieldInput
from .._targets import check_label_types, standardise

__all__ = ["BayesianFMClassifier", "BayesianFMRegressor"]


class _BayesianFM(FieldInput, BaseEstimator):
    """Fit by Gibbs sampling, predict with the average over the kept
    samples; the regressor and the classifier differ in the target and the
    link."""

    _parameter_constraints: dict = {
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "n_burn_in": [Interval(Integral, 0, None, closed="left")],
        "init_stdev": [Interval(Real, 0, None, closed="left")],
        "fields": ["array-like", None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        embedding_dim=8,
        *,
        n_iter=200,
        n_burn_in=20,
        init_stdev=0.1,
        fields=None,
        random_state=None,
        verbose=0,
    ):
        store_params(self, locals())

    def _check_size(self, n_features: int, n_fields: int) -> None:
        """Refuse, before sampling, kept samples that cannot fit in memory."""
        kept = max(self.n_iter - self.n_burn_in, 1)
        check_memory(
            4 * kept * n_features * (self.embedding_dim + 1),
            f"X has {n_features:,} columns: {type(self).__name__} would keep "
            f"{kept} samples of {self.embedding_dim + 1} values per column",
            "Keep fewer samples (n_iter - n_burn_in), or use an SGD model for "
            "data this wide.",
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Draw ``n_iter`` samples of the model's parameters given ``X, y``,
        and keep those after the first ``n_burn_in``.

        Parameters
        ----------
        X : {FieldMatrix, sparse matrix, array-like} of shape (n_samples, n_features)
            Training data. A :class:`~sklfi.FieldMatrix` brings its fields
            (the groups of the hyperpriors); otherwise ``fields`` gives them.
        y : array-like of shape (n_samples,)

        Returns
        -------
        self
        """
        if self.n_burn_in >= self.n_iter:
            raise ValueError(
                f"n_burn_in ({self.n_burn_in}) must be smaller than n_iter "
                f"({self.n_iter}): no sample would be kept."
            )
        from .._gibbs import Sampler  # (numba's import: only for those who sample)

        with all_or_nothing(self):  # (a failed or interrupted refit keeps the model)
            X, y = self._validate(X, y)
            target = self._target(y)
            seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
            sampler = Sampler(X, target, self.fields_, self.embedding_dim,
                              self.init_stdev, np.random.default_rng(seed),
                              probit=self._probit)  # fmt: skip
            self.w0_samples_, self.w_samples_, self.V_samples_ = self._sample(sampler)
            self.n_iter_ = self.n_iter
        return self

    def _sample(self, sampler):
        """Run the sweeps; the kept samples of the bias, the linear weights
        and the latent vectors."""
        kept = self.n_iter - self.n_burn_in
        p, k = sampler.w.shape[0], self.embedding_dim
        w0, w = np.empty(kept), np.empty((kept, p), dtype=np.float32)
        V = np.empty((kept, p, k), dtype=np.float32)
        start = time.perf_counter()
        for it in range(self.n_iter):
            sampler.sweep()
            if it >= self.n_burn_in:
                s = it - self.n_burn_in
                w0[s], w[s], V[s] = sampler.w0, sampler.w, sampler.Vt.T
            if self.verbose and (it + 1) % max(1, self.n_iter // 10) == 0:
                rms = np.sqrt(np.mean(sampler.e**2)) * self._unit
                print(f"sweep {it + 1}/{self.n_iter}: residual RMS {rms:.4g}, "
                      f"{time.perf_counter() - start:.1f} s", flush=True)  # fmt: skip
        return w0, w, V

    def _average(self, X, link, batch_rows=16384):
        """The mean over the kept samples of ``link(FM(x))`` for every row of
        ``X``, in batches of rows so that memory stays bounded."""
        from .._gibbs import predict_one

        check_is_fitted(self, "V_samples_")
        X = self._validate(X, reset=False)
        out = np.empty(X.shape[0])
        for start in range(0, X.shape[0], batch_rows):
            rows = X[start : start + batch_rows]
            squares = rows.power(2)
            total = np.zeros(rows.shape[0])
            for w0, w, V in zip(self.w0_samples_, self.w_samples_, self.V_samples_):
                latent = predict_one(rows, w0, w, V, squares)
                total += link(latent)
            out[start : start + batch_rows] = total / len(self.w0_samples_)
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class BayesianFMRegressor(RegressorMixin, _BayesianFM):
    """Factorization Machine regressor fitted by Gibbs sampling (MCMC).

    The Bayesian FM of libFM and myFM: Gaussian priors on every weight and
    latent vector, with a Normal-Gamma hyperprior per field (each field's
    weights share a mean and a precision, learnt from the data), so there is
    no learning rate, regularisation or number of epochs to tune. Each sweep
    draws every parameter from its conditional posterior; the prediction is
    the average over the samples kept after the burn-in, each sample's
    prediction clipped to the range of the training targets, as libFM does
    (a clipped sample is never further from a target in that range).

    Parameters
    ----------
    embedding_dim : int, default=8
        Dimension of the latent vectors.
    n_iter : int, default=200
        Sweeps of the sampler (each draws every parameter once).
    n_burn_in : int, default=20
        First sweeps not kept for prediction.
    init_stdev : float, default=0.1
        Standard deviation of the latent vectors' initial values.
    fields : array-like of shape (n_features,), default=None
        Field of every column, when ``X`` is not a
        :class:`~sklfi.FieldMatrix` (``None``: one field per column).
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
        Print progress every tenth of the sweeps.

    Attributes
    ----------
    target_range_ : tuple of float
        The smallest and the largest training target, the bounds of every
        sample's prediction.
    target_mean_, target_scale_ : float
        The training targets' mean and standard deviation. The sampler fits
        the standardised target, ``(y - target_mean_) / target_scale_`` (its
        priors suit a target of unit scale), so that the model is the same
        in any units of ``y``.
    w0_samples_, w_samples_, V_samples_ : ndarray
        The kept samples of the bias ``(S,)``, the linear weights ``(S,
        n_features)`` and the latent vectors ``(S, n_features,
        embedding_dim)``, for the standardised target: a sample predicts
        ``target_mean_ + target_scale_ * FM(x)``.
    fields_ : ndarray of shape (n_features,)
    n_features_in_ : int

    See Also
    --------
    BayesianFMClassifier : the same for two classes (probit).
    FMRegressor : FM trained by gradient descent (streaming, GPUs, large data).

    Examples
    --------
    >>> import numpy as np
    >>> from sklfi import BayesianFMRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = np.eye(4)[rng.integers(0, 4, 100)]
    >>> y = X @ np.arange(4.0)
    >>> model = BayesianFMRegressor(n_iter=50, random_state=0).fit(X, y)
    >>> np.round(model.predict(np.eye(4)), 1)
    array([0., 1., 2., 3.])
    """

    _probit = False

    def _target(self, y):
        """The standardised target: the sampler's priors suit a target of
        unit scale, whatever the units of ``y``."""
        y = np.asarray(y, dtype=np.float64)
        if not np.all(np.isfinite(y)):
            raise ValueError("y holds missing values (None or NaN) or infinity.")
        self.target_range_ = (float(y.min()), float(y.max()))
        self.target_mean_, self.target_scale_ = standardise(y)
        return (y - self.target_mean_) / self.target_scale_

    @property
    def _unit(self):
        return self.target_scale_

    def _validate(self, X, y="no_validation", reset=True, **y_params):
        if not isinstance(y, str):
            y_params.setdefault("y_numeric", True)
        return super()._validate(X, y, reset, **y_params)

    def predict(self, X):
        """The posterior mean prediction of every sample, shape (n_samples,):
        the average over the kept samples of their predictions, each clipped
        to ``target_range_``."""
        check_is_fitted(self, "V_samples_")
        low, high = self.target_range_
        mean, scale = self.target_mean_, self.target_scale_
        return self._average(X, lambda p: np.clip(mean + scale * p, low, high))


class BayesianFMClassifier(ClassifierMixin, _BayesianFM):
    """Factorization Machine classifier fitted by Gibbs sampling (probit).

    The probit model of libFM and myFM: a latent ``z ~ N(FM(x), 1)`` whose
    sign is the class, drawn each sweep given the label, then the FM's
    parameters as for :class:`BayesianFMRegressor`. The probability of the
    second class averages ``Phi(FM(x))`` over the kept samples. Two classes.

    Parameters
    ----------
    embedding_dim : int, default=8
    n_iter : int, default=200
    n_burn_in : int, default=20
    init_stdev : float, default=0.1
    fields : array-like of shape (n_features,), default=None
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
        See :class:`BayesianFMRegressor`.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    w0_samples_, w_samples_, V_samples_ : ndarray
    fields_ : ndarray of shape (n_features,)
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sklfi import BayesianFMClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = np.eye(4)[rng.integers(0, 4, 200)]
    >>> y = (X @ np.array([0, 0, 1, 1])).astype(int)
    >>> model = BayesianFMClassifier(n_iter=50, random_state=0).fit(X, y)
    >>> model.predict(np.eye(4))
    array([0, 0, 1, 1])
    """

    _probit = True

    def _target(self, y):
        check_label_types(y)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) != 2:
            raise ValueError(
                "Only binary classification is supported (a probit model): y "
                f"has {len(self.classes_)} classes."
            )
        return codes.astype(np.float64)

    _unit = 1.0  # (the latent's residuals are on the probit's scale)

    def predict_proba(self, X):
        """Posterior mean probability of each class, shape (n_samples, 2)."""
        p = self._average(X, ndtr)
        return np.column_stack([1 - p, p])

    def decision_function(self, X):
        """The probit of the positive class's probability: > 0 for class 1."""
        p = np.clip(self.predict_proba(X)[:, 1], 1e-300, 1 - 1e-16)
        return ndtri(p)

    def predict(self, X):
        """The more probable class of every sample."""
        proba = self.predict_proba(X)[:, 1]
        return self.classes_[(proba > 0.5).astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
