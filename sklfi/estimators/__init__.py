"""The scikit-learn estimators, one module per model."""

from ._ffm import FFMClassifier, FFMRegressor
from ._fm import FMClassifier, FMRegressor

__all__ = ["FFMClassifier", "FFMRegressor", "FMClassifier", "FMRegressor"]
