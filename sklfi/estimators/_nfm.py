"""Neural Factorization Machine estimators."""

from __future__ import annotations

from .._base import MLP_CONSTRAINTS, _BaseEstimator
from .._checks import store_params
from .._targets import FIClassifierMixin, FIRegressorMixin
from ..nn import NFM
from ._docs import estimator_doc

__all__ = ["NFMClassifier", "NFMRegressor"]


class _NFM(_BaseEstimator):
    """Neural Factorization Machine {kind} (He & Chua, 2017).

    Replaces FM's sum of pairwise inner products by an MLP over the
    Bi-Interaction vector, the sum of the element-wise products of all pairs
    of non-zero features, computed in linear time:

    .. math::

        \\hat y(x) = w_0 + \\sum_i w_i x_i + \\mathrm{MLP}\\Big(
            \\sum_{i<j} x_i v_i \\odot x_j v_j\\Big),
        \\quad \\sum_{i<j} x_i v_i \\odot x_j v_j
        = \\tfrac12 \\Big[\\big(\\sum_i x_i v_i\\big)^2 - \\sum_i (x_i v_i)^2\\Big]

    With ``hidden_layer_sizes=()`` it is an FM with a learned weight per
    embedding dimension. Cost ``O(nnz k + k h_1 + sum h_l h_{l+1})`` per row.
    NFM ignores fields.

    Parameters
    ----------
    embedding_dim : int, default=8
        Dimension ``k`` of the feature embeddings.
    hidden_layer_sizes : tuple of int, default=(64,)
        Hidden layers of the MLP above the Bi-Interaction pooling.
    dropout : float, default=0.3
        Dropout rate on the Bi-Interaction vector and after each hidden layer.
    batch_norm : bool, default=False
        Batch normalisation of the Bi-Interaction vector and of each hidden
        layer.
    {shared_params}

    Attributes
    ----------
    {kind_attrs}{shared_attrs}

    References
    ----------
    X. He and T.-S. Chua, "Neural Factorization Machines for Sparse Predictive
    Analytics", SIGIR 2017.

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
        hidden_layer_sizes=(64,),
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
        return NFM(
            len(fields.index),
            self.embedding_dim,
            self.hidden_layer_sizes,
            self.dropout,
            self.batch_norm,
            n_outputs,
            sparse=self._sparse(fields),
        )


@estimator_doc
class NFMClassifier(FIClassifierMixin, _NFM):
    pass


@estimator_doc
class NFMRegressor(FIRegressorMixin, _NFM):
    pass
