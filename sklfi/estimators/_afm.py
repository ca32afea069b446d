"""Attentional Factorization Machine estimators."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.utils._param_validation import Interval

from .._base import _BaseEstimator
from .._checks import store_params
from .._targets import FIClassifierMixin, FIRegressorMixin
from ..nn import AFM
from ._docs import estimator_doc

__all__ = ["AFMClassifier", "AFMRegressor"]


class _AFM(_BaseEstimator):
    """Attentional Factorization Machine {kind} (Xiao et al., 2017).

    FM weighs every interaction alike; AFM learns how much each pair of
    fields matters. The element-wise products of the pairs of field
    embeddings ``e_f * e_g`` are pooled with weights from a one-layer
    attention network, then projected to the output:

    .. math::

        \\hat y(x) = w_0 + \\sum_i w_i x_i
                  + p^T \\sum_{f<g} a_{fg} (e_f \\odot e_g), \\quad
        a_{fg} = \\mathrm{softmax}_{fg}\\, h^T \\mathrm{ReLU}(W (e_f \\odot e_g) + b)

    After ``fit``, ``field_pair_importances_`` tells which interactions the
    model relies on. Cost ``O(F^2 (k + t))`` per row for attention size ``t``;
    parameters ``n (k + 1) + t (k + 2) + k``.

    Parameters
    ----------
    embedding_dim : int, default=8
        Dimension ``k`` of the field embeddings.
    attention_dim : int, default=8
        Hidden size ``t`` of the attention network.
    dropout : float, default=0.2
        Dropout rate on the pair products during training.
    attention_weight_decay : float, default=1e-4
        L2 penalty on the attention network's weights.
    {shared_params}

    Attributes
    ----------
    field_pair_importances_ : pandas.Series
        Mean attention weight of each pair of fields over the training rows,
        indexed by (field, field) name pairs, sorted in descending order.
    {kind_attrs}{shared_attrs}

    References
    ----------
    J. Xiao, H. Ye, X. He, H. Zhang, F. Wu and T.-S. Chua, "Attentional
    Factorization Machines: Learning the Weight of Feature Interactions via
    Attention Networks", IJCAI 2017.

    Examples
    --------
    {example}
    """

    _parameter_constraints = {
        **_BaseEstimator._parameter_constraints,
        "attention_dim": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "attention_weight_decay": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        embedding_dim=8,
        attention_dim=8,
        dropout=0.2,
        attention_weight_decay=1e-4,
        *,
        fields=None,
        lr=0.01,
        weight_decay=0.1,
        optimizer="adamw",
        max_epochs=10,
        average=True,
        batch_size="auto",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=3,
        warm_start=False,
        sparse_updates="auto",
        callbacks=None,
        random_state=None,
        device="cpu",
        accelerator=None,
        verbose=0,
    ):
        store_params(self, locals())

    def _build_module(self, fields, n_outputs):
        return AFM(
            torch.from_numpy(fields.index),
            fields.n_fields,
            self.embedding_dim,
            self.attention_dim,
            self.dropout,
            n_outputs,
            sparse=self._sparse(fields),
        )

    def _param_groups(self):
        return [("attention.*", {"weight_decay": self.attention_weight_decay})]

    def _after_fit(self, X):
        total = 0.0
        with torch.no_grad():
            for batch, n_rows in self.net_.prediction_batches(X):
                weights = self.net_.module_.pair_weights(batch)[:n_rows]
                total = total + weights.sum(0).cpu()
        names = self.field_names_
        i, j = np.triu_indices(len(names), k=1)
        pairs = pd.MultiIndex.from_arrays(
            [np.asarray(names, dtype=object)[i], np.asarray(names, dtype=object)[j]],
            names=["field", "other_field"],
        )
        mean = np.asarray(total, dtype=np.float64).reshape(-1) / max(X.shape[0], 1)
        importances = pd.Series(mean if len(i) else [], index=pairs, dtype=float)
        self.field_pair_importances_ = importances.sort_values(ascending=False)


@estimator_doc
class AFMClassifier(FIClassifierMixin, _AFM):
    pass


@estimator_doc
class AFMRegressor(FIRegressorMixin, _AFM):
    pass
