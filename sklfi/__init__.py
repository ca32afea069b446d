"""sklfi: scikit-learn estimators for feature-interaction models.

FM, FFM, AFM, Wide & Deep, DeepFM, NFM and DLRM on sparse field-aware data,
built on skorch and PyTorch.
"""

from ._fields import FieldMatrix
from .estimators import (
    AFMClassifier,
    AFMRegressor,
    DeepFMClassifier,
    DeepFMRegressor,
    DLRMClassifier,
    DLRMRegressor,
    FFMClassifier,
    FFMRegressor,
    FMClassifier,
    FMRegressor,
    NFMClassifier,
    NFMRegressor,
    WideDeepClassifier,
    WideDeepRegressor,
)

__version__ = "0.1.0"

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
    "FieldMatrix",
    "NFMClassifier",
    "NFMRegressor",
    "WideDeepClassifier",
    "WideDeepRegressor",
]
