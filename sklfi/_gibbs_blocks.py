"""Gibbs draws of the columns of a relational matrix's tables, per entity
(Rendle, "Scaling Factorization Machines to Relational Data", VLDB 2013).

A table's column ``j`` is non-zero, ``x_mj``, in entities ``m``; each
entity stands in the rows ``R(m)`` that point to it. The conditional of a
parameter ``theta_j`` sums ``h^2`` and ``h e`` over every such row, where
``h = x_mj`` (a weight) or ``h = x_mj (q_f - v_jf x_mj)`` (dimension ``f``
of a factor). Within a table, ``q_f`` of a row is its entity's sum ``Q_m``
plus ``o``, the part from outside the table, which the table's draws leave
unchanged; so with, per entity, the row count ``C``, ``sum o``, ``sum
o^2``, ``sum e`` and ``sum o e`` (one pass over the rows), every column's
sums and every update are per entity: ``sum h^2 = x^2 (C a^2 + 2 a sum o
+ sum o^2)`` and ``sum h e = x (a sum e + sum o e)`` with ``a = Q_m - v_jf
x_mj``. After a field's columns, one pass over the rows moves their
residuals and ``q_f`` by their entity's change. A field's draws cost the
rows plus the table's non-zeros, not the expanded matrix's; they are the
same draws as on the expanded matrix, given the same random numbers.
"""

from __future__ import annotations

import numpy as np
from numba import njit


class Blocks:
    """The tables of a relational ``X`` (float64, canonical) for a sampler
    whose factors are ``Vt`` (k, n_features): every block's rows' entity
    (``index``, -1 for none), the rows per entity, and the entities' sums
    ``Q`` (k, n_entities), kept up to date as the table's factors change."""

    def __init__(self, X, Vt):
        self.index, self.counts, self.Q = [], [], []
        start = X.row_part.shape[1]
        for table, index in X.blocks:
            m, width = table.shape
            self.index.append(index)
            self.counts.append(
                np.bincount(index[index >= 0], minlength=m).astype(float)
            )
            Vb = Vt[:, start : start + width]
            self.Q.append(np.ascontiguousarray(np.asarray(table.tocsr() @ Vb.T).T))
            start += width

    def draw(self, part, theta, e, q, f, alpha, lam, mu, noise):
        """Draw ``theta[part.columns]`` (weights, ``f`` None, or dimension
        ``f`` of the factors), moving the residuals ``e`` and the rows' sums
        ``q`` (``q_f``)."""
        b, factor = part.block, f is not None
        index, counts = self.index[b], self.counts[b]
        Q = self.Q[b][f] if factor else np.zeros(len(counts))
        sums = _aggregates(index, e, q, Q, len(counts), factor)
        dQ, dT = np.zeros(len(counts)), np.zeros(len(counts))
        table = part.columns, part.indptr, part.rows, part.values
        _entity_draws(*table, theta, counts, *sums, Q, dQ, dT, factor,
                      alpha, lam, mu, noise)  # fmt: skip
        _push(index, e, q, dQ, dT, factor)


@njit(cache=True, nogil=True)
def _aggregates(index, e, q, Q, m, factor):
    """Per entity: ``sum e``, ``sum o``, ``sum o^2``, ``sum o e`` over its
    rows, ``o = q - Q`` (the rows' ``q_f`` from outside the table)."""
    E, S1, S2, OE = np.zeros(m), np.zeros(m), np.zeros(m), np.zeros(m)
    for r in range(index.shape[0]):
        j = index[r]
        if j < 0:
            continue
        E[j] += e[r]
        if factor:
            o = q[r] - Q[j]
            S1[j] += o
            S2[j] += o * o
            OE[j] += o * e[r]
    return E, S1, S2, OE


@njit(cache=True, nogil=True)
def _entity_draws(columns, indptr, ents, values, theta, C, E, S1, S2, OE, Q, dQ,
                  dT, factor, alpha, lam, mu, noise):  # fmt: skip
    """The draws of ``theta[columns]`` in order, from the entities' sums;
    ``dQ`` gathers each entity's change of prediction (a weight's) or of
    ``Q`` (a factor's), ``dT`` that of ``sum v^2 x^2``."""
    for c in range(columns.shape[0]):
        j, old = columns[c], theta[columns[c]]
        squares = total = 0.0
        for t in range(indptr[c], indptr[c + 1]):
            m, x = ents[t], values[t]
            if factor:
                a = Q[m] - old * x
                squares += x * x * (C[m] * a * a + 2.0 * a * S1[m] + S2[m])
                total += x * (a * E[m] + OE[m])
            else:
                squares += x * x * C[m]
                total += x * E[m]
        precision = alpha * squares + lam
        new = (alpha * (total + old * squares) + lam * mu) / precision
        new += noise[c] / np.sqrt(precision)
        delta = new - old
        for t in range(indptr[c], indptr[c + 1]):
            m, x = ents[t], values[t]
            if factor:
                a = Q[m] - old * x
                E[m] -= delta * x * (a * C[m] + S1[m])
                OE[m] -= delta * x * (a * S1[m] + S2[m])
                Q[m] += delta * x
                dQ[m] += delta * x
                dT[m] += (new * new - old * old) * x * x
            else:
                E[m] -= delta * x * C[m]
                dQ[m] += delta * x
        theta[j] = new


@njit(cache=True, nogil=True)
def _push(index, e, q, dQ, dT, factor):
    """Move every row's residual (and ``q_f``) by its entity's change."""
    for r in range(index.shape[0]):
        j = index[r]
        if j < 0:
            continue
        d = dQ[j]
        if factor:
            e[r] -= d * q[r] + 0.5 * d * d - 0.5 * dT[j]
            q[r] += d
        else:
            e[r] -= d
