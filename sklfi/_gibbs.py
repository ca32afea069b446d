"""Gibbs sampling of a Bayesian factorization machine (the MCMC of libFM
and myFM), one compiled pass over a field's non-zeros per draw of its
weights or of one dimension of its factors.

The model: ``y = w0 + sum_i w_i x_i + sum_{i<j} <v_i, v_j> x_i x_j + noise``
with Gaussian noise of precision ``alpha``, priors ``w_i ~ N(mu_w[g],
1/lambda_w[g])`` and ``v_if ~ N(mu_v[g, f], 1/lambda_v[g, f])`` for the
group (field) ``g`` of column ``i``, and Normal-Gamma hyperpriors on every
``(mu, lambda)`` and a Gamma prior on ``alpha``. For classification
(probit) a latent target ``z ~ N(y_hat, 1)``, truncated to the sign of the
label, is drawn each sweep and the noise precision stays 1.

Every parameter enters the prediction linearly, ``y_hat = g + theta h``,
so its conditional posterior is Gaussian, with precision ``alpha sum h^2 +
lambda`` and mean ``(alpha sum h (e + theta h) + lambda mu) / precision``
over the residuals ``e = y - y_hat`` of the rows where ``h != 0``. The
columns of a field are drawn one after the other, each from its
conditional given all else, with the residuals and the cached sums ``q_f =
sum_i v_if x_i`` updated after each column: a loop over the field's
non-zeros compiled with numba, one call per field and dimension, so
Python's cost does not grow with the columns (a one-hot field's columns
share no row and could be drawn at once, but numpy's separate gathers,
products and ``bincount`` cost twice as much, and a multi-valued field
with long rows would need hundreds of such sets). A sweep costs ``O(nnz
k)``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numba import njit
from scipy.special import ndtr, ndtri

from ._gibbs_blocks import Blocks
from ._relational import RelationalMatrix

#: Hyperpriors of libFM and myFM: Gamma(1, 1) on every precision, and the
#: means' prior N(0, 1 / (gamma0 lambda)) with gamma0 = 1.
ALPHA0, BETA0, GAMMA0 = 1.0, 1.0, 1.0


class Part:
    """The columns of one field and their non-zeros, column by column (CSC):
    ``columns``, ``indptr`` (into ``rows`` and ``values``), ``rows``,
    ``values``. ``X``'s columns ``local`` are the model's ``columns``; in
    a relational block's table, ``rows`` are entities of ``block``."""

    def __init__(self, X: sp.csc_matrix, local: np.ndarray, columns=None, block=None):
        sub = X[:, local]
        sub.sort_indices()
        self.columns = (local if columns is None else columns).astype(np.intp)
        self.indptr = sub.indptr.astype(np.intp)
        self.rows = sub.indices.astype(np.intp)
        self.values = sub.data.astype(np.float64)
        self.block = block


def parts(X, fields: np.ndarray) -> list[tuple[int, Part]]:
    """``(field, part)`` pairs: the columns of every field (of a relational
    ``X``: in the row part or in the table that holds them)."""
    if not isinstance(X, RelationalMatrix):
        X = sp.csc_matrix(X)
        return [
            (int(f), Part(X, np.flatnonzero(fields == f))) for f in np.unique(fields)
        ]
    tables = [X.row_part] + [table for table, _ in X.blocks]
    starts = np.cumsum([0] + [t.shape[1] for t in tables])
    cscs = [t.tocsr().tocsc() for t in tables]
    out = []
    for f in np.unique(fields):
        columns = np.flatnonzero(fields == f)
        b = int(np.searchsorted(starts, columns[0], "right")) - 1
        part = Part(cscs[b], columns - starts[b], columns, None if b == 0 else b - 1)
        out.append((int(f), part))
    return out


class Sampler:
    """The state of the chain: parameters, hyperparameters, residuals.

    Parameters
    ----------
    X : csr_matrix of shape (n, p)
    target : ndarray of shape (n,)
        Values (regression) or labels 0/1 (``probit``).
    fields : ndarray of int of shape (p,)
        Group of every column, for the hyperpriors.
    k : int
    init_stdev : float
    rng : numpy Generator
    probit : bool
    """

    def __init__(self, X, target, fields, k, init_stdev, rng, probit=False):
        if isinstance(X, RelationalMatrix):
            X = X.checked(np.float64)
        else:
            X = sp.csr_matrix(X, dtype=np.float64)
            X.sum_duplicates()  # (a column's non-zeros: one per row)
        self.n, self.p = X.shape
        self.k, self.rng, self.probit = k, rng, probit
        self.fields = np.unique(fields, return_inverse=True)[1]
        self.n_groups = int(self.fields.max()) + 1 if self.p else 0
        self.parts = parts(X, self.fields)
        self.label = np.asarray(target, dtype=np.float64)
        self.w0 = 0.0 if probit else float(self.label.mean())
        self.w = np.zeros(self.p)
        self.Vt = rng.normal(0.0, init_stdev, (k, self.p))  # (rows: contiguous)
        self.alpha = 1.0
        self.mu_w, self.lambda_w = np.zeros(self.n_groups), np.ones(self.n_groups)
        self.mu_v = np.zeros((self.n_groups, k))
        self.lambda_v = np.ones((self.n_groups, k))
        self.Qt = np.asarray(X @ self.Vt.T).T.copy()  # (k, n): sum_i v_if x_i
        # a relational X's tables: their entities' sums q_f, kept as they change
        self.blocks = Blocks(X, self.Vt) if isinstance(X, RelationalMatrix) else None
        prediction = predict_one(X, self.w0, self.w, self.Vt.T)
        self.z = self.label if not probit else np.where(self.label > 0, 1.0, -1.0)
        self.e = self.z - prediction

    # -- one sweep ----------------------------------------------------------
    def sweep(self):
        """Draw every parameter once, in libFM's order."""
        if self.probit:
            self._latent()
        self._w0()
        if not self.probit:
            self._alpha()
        self._hyper()
        for field, part in self.parts:
            self._linear(field, part)
        for f in range(self.k):
            for field, part in self.parts:
                self._factor(field, part, f)

    def _gaussian(self, precision, weighted_sum):
        return weighted_sum / precision + self.rng.standard_normal(
            np.shape(precision)
        ) / np.sqrt(precision)

    def _latent(self):
        """z ~ N(y_hat, 1) truncated to z > 0 (label 1) or z < 0 (label 0),
        by the inverse CDF on the side where it is accurate."""
        y_hat = np.clip(self.z - self.e, -30, 30)
        u = 1.0 - self.rng.random(self.n)  # (0, 1]
        positive = self.label > 0
        # label 1: z - y_hat = -ndtri(u Phi(y_hat)) > -y_hat; label 0: the mirror
        step = np.where(positive, -ndtri(u * ndtr(y_hat)), ndtri(u * ndtr(-y_hat)))
        z = y_hat + step
        self.e += z - self.z
        self.z = z

    def _w0(self):
        new = self._gaussian(self.alpha * self.n, self.alpha * (self.e + self.w0).sum())
        self.e -= new - self.w0
        self.w0 = float(new)

    def _alpha(self):
        shape = (ALPHA0 + self.n) / 2
        rate = (BETA0 + self.e @ self.e) / 2
        self.alpha = self.rng.gamma(shape, 1.0 / rate)

    def _hyper(self):
        """lambda then mu of every group, for w and each dimension of V."""
        count = np.bincount(self.fields, minlength=self.n_groups)[:, None]
        for theta, mu, lam in ((self.w[:, None], self.mu_w[:, None],
                                self.lambda_w[:, None]),
                               (self.Vt.T, self.mu_v, self.lambda_v)):  # fmt: skip
            sums = _group_sum(self.fields, theta, self.n_groups)
            squares = _group_sum(self.fields, (theta - mu[self.fields]) ** 2,
                                 self.n_groups)  # fmt: skip
            shape = (ALPHA0 + count + 1) / 2
            rate = (BETA0 + squares + GAMMA0 * mu**2) / 2
            lam[...] = self.rng.gamma(shape, 1.0 / rate)
            mu[...] = self._gaussian((count + GAMMA0) * lam, sums * lam)

    def _linear(self, field, part):
        self._draw(part, self.w, self.lambda_w[field], self.mu_w[field], None)

    def _factor(self, field, part, f):
        lam, mu = self.lambda_v[field, f], self.mu_v[field, f]
        self._draw(part, self.Vt[f], lam, mu, f)

    def _draw(self, part, theta, lam, mu, f):
        """Draw ``theta[part.columns]`` (the linear weights, or dimension
        ``f`` of the factors) one column after the other, each given all
        else, updating the residuals (and the sums ``q_f``) as it goes: one
        compiled pass over the part's non-zeros."""
        noise = self.rng.standard_normal(len(part.columns))
        q = self.e if f is None else self.Qt[f]  # (unread for the weights)
        if part.block is not None:  # (a table's columns: drawn per entity)
            self.blocks.draw(part, theta, self.e, q, f, self.alpha, lam, mu, noise)
            return
        _column_draws(part.columns, part.indptr, part.rows, part.values, theta,
                      self.e, q, f is not None, self.alpha, lam, mu, noise)  # fmt: skip


@njit(cache=True, nogil=True)
def _column_draws(columns, indptr, rows, values, theta, e, q, factor, alpha, lam,
                  mu, noise):  # fmt: skip
    """Gibbs draws of ``theta[columns]``, in order: per column, the sums of
    ``h^2`` and ``h e`` over its non-zeros (``h = x`` for a weight, ``x (q -
    theta x)`` for a factor), the draw from ``N(mean, 1 / precision)``, then
    the residuals ``e`` (and ``q``) moved by the change."""
    for c in range(columns.shape[0]):
        j, old = columns[c], theta[columns[c]]
        squares = total = 0.0
        for t in range(indptr[c], indptr[c + 1]):
            r, x = rows[t], values[t]
            h = x * (q[r] - old * x) if factor else x
            squares += h * h
            total += h * e[r]
        precision = alpha * squares + lam
        # sum h (e + theta h) = sum h e + theta sum h^2
        new = (alpha * (total + old * squares) + lam * mu) / precision
        new += noise[c] / np.sqrt(precision)
        delta = new - old
        for t in range(indptr[c], indptr[c + 1]):
            r, x = rows[t], values[t]
            e[r] -= delta * (x * (q[r] - old * x) if factor else x)
            if factor:
                q[r] += delta * x
        theta[j] = new


def _group_sum(groups, values, n_groups):
    """Sum of the rows of ``values`` (p, d) per group: (n_groups, d)."""
    out = np.zeros((n_groups, values.shape[1]))
    np.add.at(out, groups, values)
    return out


def predict_one(X, w0, w, V, squares=None):
    """FM prediction of the rows of ``X`` (CSR or relational) for one set of
    parameters; ``squares``, ``X`` squared element-wise, when the caller has
    it."""
    XV = np.asarray(X @ V, dtype=np.float64)
    if squares is None:
        squares = X.power(2)
    pairs = 0.5 * (XV * XV - np.asarray(squares @ (V * V))).sum(axis=1)
    return w0 + np.asarray(X @ w, dtype=np.float64).ravel() + pairs
