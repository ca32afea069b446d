"""DLRM estimators."""

from __future__ import annotations

import torch
from sklearn.utils._param_validation import StrOptions

from .._base import MLP_CONSTRAINTS, _BaseEstimator
from .._checks import store_params
from .._targets import FIClassifierMixin, FIRegressorMixin
from ..nn import DLRM
from ._docs import estimator_doc

__all__ = ["DLRMClassifier", "DLRMRegressor"]


class _DLRM(_BaseEstimator):
    """Deep Learning Recommendation Model {kind} (Naumov et al., 2019).

    Numeric (dense) fields go through a bottom MLP to a vector ``z`` of size
    ``k``; every other field is embedded (``e_f``). The interaction takes the
    dot products of all pairs among ``z, e_1, ..., e_F``, concatenated with
    ``z``; a top MLP maps them to the output:

    .. math::

        \\hat y(x) = \\mathrm{MLP}_{top}\\big([z, (\\langle u_a, u_b
        \\rangle)_{a<b}]\\big), \\quad u = (z, e_1, \\dots, e_F),
        \\quad z = \\mathrm{MLP}_{bottom}(x_{dense})

    Unlike DeepFM, embeddings meet only through their dot products (second
    order) before the top MLP. ``interaction="cat"`` replaces the dot
    products by the concatenation of the vectors. Cost
    ``O(nnz k + F^2 k + MLPs)`` per row.

    The numeric fields are those of kind ``"numeric"`` (set by the
    transformers of :mod:`sklfi.preprocessing`, or inferred for a plain
    matrix: single-column fields with values other than 0 and 1), or the ones
    listed in ``numeric_fields``.

    Parameters
    ----------
    embedding_dim : int, default=8
        Dimension ``k`` of the embeddings and of the bottom MLP's output.
    hidden_layer_sizes : tuple of int, default=(64, 32)
        Hidden layers of the top MLP.
    bottom_layer_sizes : tuple of int, default=(64,)
        Hidden layers of the bottom MLP, before its ``k`` outputs.
    interaction : {"dot", "cat"}, default="dot"
        Pairwise dot products (DLRM) or concatenation of the vectors.
    numeric_fields : list of field names or ids, default=None
        Fields to treat as dense inputs; ``None`` takes the fields of kind
        ``"numeric"``.
    dropout : float, default=0.2
        Dropout rate after each hidden layer of the top MLP.
    batch_norm : bool, default=False
        Batch normalisation after each hidden layer.
    {shared_params}

    Attributes
    ----------
    numeric_fields_ : tuple of str
        Names of the fields fed to the bottom MLP.
    {kind_attrs}{shared_attrs}

    References
    ----------
    M. Naumov et al., "Deep Learning Recommendation Model for Personalization
    and Recommendation Systems", arXiv:1906.00091, 2019.

    Examples
    --------
    {example}
    """

    _parameter_constraints = {
        **_BaseEstimator._parameter_constraints,
        **MLP_CONSTRAINTS,
        "bottom_layer_sizes": ["array-like"],
        "interaction": [StrOptions({"dot", "cat"})],
        "numeric_fields": ["array-like", None],
    }

    def __init__(
        self,
        embedding_dim=8,
        hidden_layer_sizes=(64, 32),
        bottom_layer_sizes=(64,),
        interaction="dot",
        numeric_fields=None,
        dropout=0.2,
        batch_norm=False,
        *,
        fields=None,
        lr=0.01,
        weight_decay=1.0,
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
        if self.numeric_fields is None:
            numeric = [f for f, kind in enumerate(fields.kinds) if kind == "numeric"]
        else:
            numeric = [fields.id_of(f, "numeric_fields") for f in self.numeric_fields]
        return DLRM(
            torch.from_numpy(fields.index),
            fields.n_fields,
            numeric,
            self.embedding_dim,
            self.bottom_layer_sizes,
            self.hidden_layer_sizes,
            self.interaction,
            self.dropout,
            self.batch_norm,
            n_outputs,
            sparse=self._sparse(fields),
        )

    def _after_fit(self, X):
        sparse = set(self.net_.module_.sparse_fields.tolist())
        self.numeric_fields_ = tuple(
            name for f, name in enumerate(self.field_names_) if f not in sparse
        )


@estimator_doc
class DLRMClassifier(FIClassifierMixin, _DLRM):
    pass


@estimator_doc
class DLRMRegressor(FIRegressorMixin, _DLRM):
    pass
