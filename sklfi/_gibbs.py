"""Gibbs sampling of a Bayesian factorization machine (the MCMC of libFM
and myFM), vectorised over blocks of columns that never share a row.

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
over the residuals ``e = y - y_hat`` of the rows where ``h != 0``. Columns
that never share a row have independent conditionals: a whole one-hot
field (or a set of such columns of a multi-valued field) is drawn at once
in two passes over its non-zeros (compiled with numba: numpy's separate
gathers, products and ``bincount`` cost twice as much), and the residuals
and the cached sums ``q_f = sum_i v_if x_i`` are updated in place. A sweep
costs ``O(nnz k)``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numba import njit
from scipy.special import ndtr, ndtri

#: Hyperpriors of libFM and myFM: Gamma(1, 1) on every precision, and the
#: means' prior N(0, 1 / (gamma0 lambda)) with gamma0 = 1.
ALPHA0, BETA0, GAMMA0 = 1.0, 1.0, 1.0


class Block:
    """Columns that never share a row, and their non-zeros sorted by row
    (for locality): ``rows``, ``cols`` (the columns' numbers), ``local``
    (their position in ``columns``) and ``values``."""

    def __init__(self, columns, rows, cols, local, values):
        order = np.argsort(rows, kind="stable")
        self.columns = columns
        self.rows, self.cols = rows[order].astype(np.intp), cols[order].astype(np.intp)
        self.local, self.values = local[order].astype(np.intp), values[order]


def blocks(X: sp.csc_matrix, fields: np.ndarray) -> list[tuple[int, Block]]:
    """``(field, block)`` pairs covering every column of ``X``: per field,
    its columns in sets that share no row (:func:`disjoint_sets`)."""
    out = []
    for field in np.unique(fields):
        for cols in disjoint_sets(X, np.flatnonzero(fields == field)):
            sub = X[:, cols].tocoo()
            block = Block(cols, sub.row, cols[sub.col], sub.col,
                          sub.data.astype(np.float64))  # fmt: skip
            out.append((int(field), block))
    return out


def disjoint_sets(X: sp.csc_matrix, columns: np.ndarray) -> list[np.ndarray]:
    """``columns`` of ``X`` split into sets that share no row: all of them
    when no row has two (a one-hot field), else greedily, busiest column
    first (at least as many sets as the busiest row has non-zeros)."""
    rows = X[:, columns].indices
    if len(np.unique(rows)) == len(rows):
        return [columns]
    taken, members = [], []  # per set: the rows it uses, and its columns
    for col in columns[np.argsort(-np.diff(X.indptr)[columns], kind="stable")]:
        rows = X.indices[X.indptr[col] : X.indptr[col + 1]]
        for used, cols in zip(taken, members):
            if not used[rows].any():
                used[rows] = True
                cols.append(col)
                break
        else:
            used = np.zeros(X.shape[0], dtype=bool)
            used[rows] = True
            taken.append(used)
            members.append([col])
    return [np.sort(cols) for cols in members]


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
        X = sp.csc_matrix(X, dtype=np.float64)
        self.n, self.p = X.shape
        self.k, self.rng, self.probit = k, rng, probit
        self.fields = np.unique(fields, return_inverse=True)[1]
        self.n_groups = int(self.fields.max()) + 1 if self.p else 0
        self.blocks = blocks(X, self.fields)
        self._h = np.empty(max((len(b.rows) for _, b in self.blocks), default=0))
        self.label = np.asarray(target, dtype=np.float64)
        self.w0 = 0.0 if probit else float(self.label.mean())
        self.w = np.zeros(self.p)
        self.Vt = rng.normal(0.0, init_stdev, (k, self.p))  # (rows: contiguous)
        self.alpha = 1.0
        self.mu_w, self.lambda_w = np.zeros(self.n_groups), np.ones(self.n_groups)
        self.mu_v = np.zeros((self.n_groups, k))
        self.lambda_v = np.ones((self.n_groups, k))
        self.Qt = np.asarray(X @ self.Vt.T).T.copy()  # (k, n): sum_i v_if x_i
        prediction = predict_one(X.tocsr(), self.w0, self.w, self.Vt.T)
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
        for field, block in self.blocks:
            self._linear(field, block)
        for f in range(self.k):
            for field, block in self.blocks:
                self._factor(field, block, f)

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

    def _linear(self, field, b):
        self._draw(field, b, self.w, self.lambda_w[field], self.mu_w[field], None)

    def _factor(self, field, b, f):
        lam, mu = self.lambda_v[field, f], self.mu_v[field, f]
        self._draw(field, b, self.Vt[f], lam, mu, f)

    def _draw(self, field, b, theta, lam, mu, f):
        """Draw ``theta[b.columns]`` (the linear weights, or dimension ``f``
        of the factors) given everything else, and update the residuals (and
        the sums ``q_f``): two compiled passes over the block's non-zeros."""
        m = len(b.columns)
        squares, total = np.zeros(m), np.zeros(m)
        h = self._h[: len(b.rows)]
        q = self.e if f is None else self.Qt[f]  # (unread for the weights)
        _block_sums(b.rows, b.cols, b.local, b.values, theta, self.e, q,
                    f is not None, h, squares, total)  # fmt: skip
        current = theta[b.columns]
        # sum h (e + theta h) = sum h e + theta sum h^2: theta is one per column
        total += current * squares
        new = self._gaussian(self.alpha * squares + lam, self.alpha * total + lam * mu)
        _block_update(b.rows, b.local, b.values, new - current, h, self.e, q,
                      f is not None)  # fmt: skip
        theta[b.columns] = new


@njit(cache=True, nogil=True)
def _block_sums(rows, cols, local, values, theta, e, q, factor, h, squares, total):
    """Per column of a block: the sums of ``h^2`` and ``h e`` over its
    non-zeros, where ``h = x`` (a weight) or ``x (q - theta x)`` (a factor);
    ``h`` kept per non-zero."""
    for j in range(rows.shape[0]):
        r, x = rows[j], values[j]
        hj = x * (q[r] - theta[cols[j]] * x) if factor else x
        h[j] = hj
        squares[local[j]] += hj * hj
        total[local[j]] += hj * e[r]


@njit(cache=True, nogil=True)
def _block_update(rows, local, values, delta, h, e, q, factor):
    """The residuals (and the sums ``q``) after the block's columns moved by
    ``delta``."""
    for j in range(rows.shape[0]):
        d = delta[local[j]]
        e[rows[j]] -= d * h[j]
        if factor:
            q[rows[j]] += d * values[j]


def _group_sum(groups, values, n_groups):
    """Sum of the rows of ``values`` (p, d) per group: (n_groups, d)."""
    out = np.zeros((n_groups, values.shape[1]))
    np.add.at(out, groups, values)
    return out


def predict_one(X, w0, w, V, squares=None):
    """FM prediction of the rows of ``X`` (CSR) for one set of parameters;
    ``squares``, ``X`` squared element-wise, when the caller has it."""
    XV = np.asarray(X @ V, dtype=np.float64)
    if squares is None:
        squares = X.multiply(X).tocsr()
    pairs = 0.5 * (XV * XV - np.asarray(squares @ (V * V))).sum(axis=1)
    return w0 + np.asarray(X @ w, dtype=np.float64).ravel() + pairs
