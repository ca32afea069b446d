"""The scikit-learn estimators, one module per model."""

from ._afm import AFMClassifier, AFMRegressor
from ._deepfm import DeepFMClassifier, DeepFMRegressor
from ._dlrm import DLRMClassifier, DLRMRegressor
from ._ffm import FFMClassifier, FFMRegressor
from ._fm import FMClassifier, FMRegressor
from ._nfm import NFMClassifier, NFMRegressor
from ._widedeep import WideDeepClassifier, WideDeepRegressor

__all__ = [
    "AFMClassifier",
    "AFMRegressor",
    "DLRMClassifier",
    "DLRMRegressor",
    "DeepFMClassifier",
    "DeepFMRegressor",
    "FFMClassifier",
    "FFMRegressor",
    "FMClassifier",
    "FMRegressor",
    "NFMClassifier",
    "NFMRegressor",
    "WideDeepClassifier",
    "WideDeepRegressor",
]
