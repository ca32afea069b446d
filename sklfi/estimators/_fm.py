"""Factorization Machine estimators."""

from __future__ import annotations

from .._base import _BaseEstimator
from .._checks import store_params
from .._targets import FIClassifierMixin, FIRegressorMixin
from ..nn import FM
from ._docs import estimator_doc

__all__ = ["FMClassifier", "FMRegressor"]


class _FM(_BaseEstimator):
    """Factorization Machine {kind} (Rendle, 2010).

    A linear model plus every pairwise interaction of the non-zero features,
    each weighted by the inner product of the two features' latent vectors:

    .. math::

        \\hat y(x) = w_0 + \\sum_i w_i x_i
                  + \\sum_{i<j} \\langle v_i, v_j \\rangle x_i x_j

    Sharing the vectors ``v_i`` across pairs lets FM estimate interactions of
    pairs never seen together in training. The pair sum is computed in
    ``O(nnz k)`` as ``((sum_i v_i x_i)^2 - sum_i (v_i x_i)^2) / 2``. FM ignores
    fields. Parameters: ``n (k + 1) + 1``.

    Parameters
    ----------
    embedding_dim : int, default=8
        Dimension ``k`` of the latent vectors.
    {shared_params}

    Attributes
    ----------
    {kind_attrs}{shared_attrs}

    References
    ----------
    S. Rendle, "Factorization Machines", ICDM 2010.

    Examples
    --------
    {example}
    """

    def __init__(
        self,
        embedding_dim=8,
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
        return FM(
            len(fields.index),
            self.embedding_dim,
            n_outputs,
            sparse=self._sparse(fields),
        )


@estimator_doc
class FMClassifier(FIClassifierMixin, _FM):
    pass


@estimator_doc
class FMRegressor(FIRegressorMixin, _FM):
    pass
