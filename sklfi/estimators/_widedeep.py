"""Wide & Deep estimators."""

from __future__ import annotations

import torch

from .._base import MLP_CONSTRAINTS, _BaseEstimator
from .._checks import store_params
from .._fields import FieldMatrix
from .._relational import RelationalMatrix
from .._targets import FIClassifierMixin, FIRegressorMixin
from ..nn import WideDeep
from ..preprocessing import FieldCrosser
from ._docs import estimator_doc

__all__ = ["WideDeepClassifier", "WideDeepRegressor"]


class _WideDeep(_BaseEstimator):
    """Wide & Deep {kind} (Cheng et al., 2016).

    Trains jointly a wide linear model, which *memorises* frequent feature
    combinations through cross-product features, and a deep MLP over the
    concatenated field embeddings, which *generalises* to combinations never
    seen; their log-odds are summed:

    .. math::

        \\hat y(x) = w^T [x, \\phi(x)] + \\mathrm{MLP}([e_1, \\dots, e_F]) + b

    where ``phi(x)`` are the cross products of the fields in ``crosses``
    (see :class:`~sklfi.preprocessing.FieldCrosser`). Without crosses it is a
    linear model plus an MLP. Cost ``O(nnz + F k h_1 + sum h_l h_{l+1})``.

    Parameters
    ----------
    embedding_dim : int, default=8
        Dimension ``k`` of the field embeddings of the deep part.
    hidden_layer_sizes : tuple of int, default=(64, 32)
        Hidden layers of the deep MLP.
    dropout : float, default=0.3
        Dropout rate after each hidden layer.
    batch_norm : bool, default=False
        Batch normalisation after each hidden layer.
    crosses : list of tuples of field names or ids, default=None
        Fields whose cross products feed the wide part, e.g.
        ``[("gender", "occupation")]``; combinations unseen in ``fit`` are
        ignored.
    {shared_params}

    Attributes
    ----------
    crosser_ : FieldCrosser or None
        The fitted cross-product transformer, when ``crosses`` is given.
    {kind_attrs}{shared_attrs}

    References
    ----------
    H.-T. Cheng et al., "Wide & Deep Learning for Recommender Systems",
    DLRS 2016.

    Examples
    --------
    {example}
    """

    _parameter_constraints = {
        **_BaseEstimator._parameter_constraints,
        **MLP_CONSTRAINTS,
        "crosses": [list, tuple, None],
    }

    def __init__(
        self,
        embedding_dim=8,
        hidden_layer_sizes=(64, 32),
        dropout=0.3,
        batch_norm=False,
        crosses=None,
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

    def _model_input(self, X, fit=False):
        """``X`` with its cross-product fields appended (the crosser is
        fitted on the training rows)."""
        if fit:
            self.crosser_ = None
        if isinstance(X, RelationalMatrix):
            if not self.crosses:
                return X, self._fields
            X = X.tocsr()  # (the crosses read the expanded columns)
        X = FieldMatrix._from_parts(X, self._fields)
        if fit and self.crosses:
            self.crosser_ = FieldCrosser(self.crosses).fit(X)
        if self.crosser_ is not None:
            X = self.crosser_.transform(X)
        return X.tocsr(), X._fields

    def _build_module(self, fields, n_outputs):
        return WideDeep(
            torch.from_numpy(fields.index),
            fields.n_fields,
            range(len(self.field_names_)),  # crosses stay in the wide part
            self.embedding_dim,
            self.hidden_layer_sizes,
            self.dropout,
            self.batch_norm,
            n_outputs,
            sparse=self._sparse(fields),
        )


@estimator_doc
class WideDeepClassifier(FIClassifierMixin, _WideDeep):
    pass


@estimator_doc
class WideDeepRegressor(FIRegressorMixin, _WideDeep):
    pass
