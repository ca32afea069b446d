"""DeepFM estimators."""

from __future__ import annotations

import torch

from .._base import MLP_CONSTRAINTS, _BaseEstimator
from .._checks import store_params
from .._targets import FIClassifierMixin, FIRegressorMixin
from ..nn import DeepFM
from ._docs import estimator_doc

__all__ = ["DeepFMClassifier", "DeepFMRegressor"]


class _DeepFM(_BaseEstimator):
    """DeepFM {kind} (Guo et al., 2017).

    An FM component for low-order interactions and an MLP for high-order
    ones, both reading the same embeddings, so no feature engineering (no
    crosses) is needed:

    .. math::

        \\hat y(x) = \\underbrace{w_0 + \\sum_i w_i x_i
                   + \\sum_{i<j} \\langle v_i, v_j \\rangle x_i x_j}_{\\text{FM}}
                   + \\mathrm{MLP}([e_1, \\dots, e_F]),
        \\quad e_f = \\sum_{i \\in f} x_i v_i

    Cost ``O(nnz k + F k h_1 + sum h_l h_{l+1})`` per row.

    Parameters
    ----------
    embedding_dim : int, default=8
        Dimension ``k`` of the shared embeddings.
    hidden_layer_sizes : tuple of int, default=(64, 32)
        Hidden layers of the deep component.
    dropout : float, default=0.3
        Dropout rate after each hidden layer.
    batch_norm : bool, default=False
        Batch normalisation after each hidden layer.
    {shared_params}

    Attributes
    ----------
    {kind_attrs}{shared_attrs}

    References
    ----------
    H. Guo, R. Tang, Y. Ye, Z. Li and X. He, "DeepFM: A Factorization-Machine
    based Neural Network for CTR Prediction", IJCAI 2017.

    Examples
    --------
    {example}
    """

    _parameter_constraints = {
        **_BaseEstimator._parameter_constraints,
        **MLP_CONSTRAINTS,
    }

    def __init__(
        self,
        embedding_dim=8,
        hidden_layer_sizes=(64, 32),
        dropout=0.3,
        batch_norm=False,
        *,
        fields=None,
        lr=0.01,
        weight_decay=0.3,
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
        return DeepFM(
            torch.from_numpy(fields.index),
            fields.n_fields,
            self.embedding_dim,
            self.hidden_layer_sizes,
            self.dropout,
            self.batch_norm,
            n_outputs,
            sparse=self._sparse(fields),
        )


@estimator_doc
class DeepFMClassifier(FIClassifierMixin, _DeepFM):
    pass


@estimator_doc
class DeepFMRegressor(FIRegressorMixin, _DeepFM):
    pass
