"""sklfi: scikit-learn estimators for feature-interaction models.

FM, FFM, AFM, Wide & Deep, DeepFM, NFM and DLRM on sparse field-aware data,
built on skorch and PyTorch.
"""

from ._fields import FieldMatrix
from .estimators import FFMClassifier, FFMRegressor, FMClassifier, FMRegressor

__version__ = "0.1.0"

__all__ = [
    "FFMClassifier",
    "FFMRegressor",
    "FMClassifier",
    "FMRegressor",
    "FieldMatrix",
]
