"""The scikit-learn estimators, one module per model, and their registry."""

from __future__ import annotations

from typing import NamedTuple

from ._afm import AFMClassifier, AFMRegressor
from ._bayesian import BayesianFMClassifier, BayesianFMRegressor
from ._deepfm import DeepFMClassifier, DeepFMRegressor
from ._dlrm import DLRMClassifier, DLRMRegressor
from ._ffm import FFMClassifier, FFMRegressor
from ._fm import FMClassifier, FMRegressor
from ._nfm import NFMClassifier, NFMRegressor
from ._widedeep import WideDeepClassifier, WideDeepRegressor


class Model(NamedTuple):
    """A model's name and its two estimators."""

    name: str
    classifier: type
    regressor: type

    def estimator(self, regression: bool, **params):
        """A new regressor (``regression=True``) or classifier of this model."""
        return (self.regressor if regression else self.classifier)(**params)


#: Every model, by its command-line name, in the order of the results tables.
MODELS = {
    "fm": Model("FM", FMClassifier, FMRegressor),
    "ffm": Model("FFM", FFMClassifier, FFMRegressor),
    "afm": Model("AFM", AFMClassifier, AFMRegressor),
    "widedeep": Model("WideDeep", WideDeepClassifier, WideDeepRegressor),
    "deepfm": Model("DeepFM", DeepFMClassifier, DeepFMRegressor),
    "nfm": Model("NFM", NFMClassifier, NFMRegressor),
    "dlrm": Model("DLRM", DLRMClassifier, DLRMRegressor),
}

__all__ = [
    "MODELS",
    "Model",
    "FMClassifier",
    "FMRegressor",
    "FFMClassifier",
    "FFMRegressor",
    "AFMClassifier",
    "AFMRegressor",
    "WideDeepClassifier",
    "WideDeepRegressor",
    "DeepFMClassifier",
    "DeepFMRegressor",
    "NFMClassifier",
    "NFMRegressor",
    "DLRMClassifier",
    "DLRMRegressor",
    "BayesianFMClassifier",
    "BayesianFMRegressor",
]
