"""The target side of the estimators: label encoding and probabilities for
classifiers, a standardised target for regressors."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from torch import nn

from ._fields import mixed_kinds


class FIClassifierMixin(ClassifierMixin):
    """Classifier side: label encoding, logistic/softmax outputs."""

    def _target(self, y, sample_weight, classes=None, first_call=False):
        """``classes_`` (from ``classes``, or else ``y``), and the encoded
        target, loss and number of outputs."""
        check_label_types(y)
        check_classification_targets(y)
        if classes is None:
            if first_call:
                raise ValueError(
                    "the first call to partial_fit needs classes: every class "
                    "of all the calls."
                )
            self.classes_, y_enc = np.unique(y, return_inverse=True)
            present = np.unique(y_enc[sample_weight > 0])
            if len(present) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes "
                    f"with positive weight; got 1 class: {self.classes_[present]}."
                )
        else:
            check_label_types(classes)
            self.classes_ = np.unique(classes)
            if len(self.classes_) < 2:
                raise ValueError(f"classes must hold 2 classes or more, got {classes}.")
            y_enc = self._label_codes(y)
        if len(self.classes_) == 2:
            return self._as_target(y_enc), nn.BCEWithLogitsLoss, 1
        return self._as_target(y_enc), nn.CrossEntropyLoss, len(self.classes_)

    def _encode(self, y, classes=None):
        """The target of ``y`` for the classes learnt already."""
        if classes is not None and not np.array_equal(
            np.unique(classes), self.classes_
        ):
            raise ValueError(
                f"classes={list(np.unique(classes))} differ from the classes of the "
                f"first call, {list(self.classes_)}."
            )
        check_label_types(y)
        check_classification_targets(y)
        return self._as_target(self._label_codes(y))

    def _label_codes(self, y):
        """Position of every label in ``classes_``; unknown labels refused."""
        y = np.asarray(y)
        try:
            codes = np.searchsorted(self.classes_, y)
            known = self.classes_[np.minimum(codes, len(self.classes_) - 1)] == y
        except TypeError:  # (labels of another type than the classes)
            known = np.zeros(len(y), dtype=bool)
        if not np.all(known):
            raise ValueError(
                f"y holds labels that are not among the classes "
                f"{list(self.classes_)}: {list(np.unique(y[~known]))[:5]}. Give "
                "every class in classes on the first call to partial_fit."
            )
        return codes

    def _as_target(self, codes):
        if len(self.classes_) == 2:
            return codes.astype(np.float32).reshape(-1, 1)
        return codes.astype(np.int64)

    def decision_function(self, X):
        """Logits: shape (n_samples,) for two classes, else (n_samples, n_classes)."""
        out = self._forward(X)
        return out[:, 0] if out.shape[1] == 1 else out

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), in ``classes_`` order."""
        logits = self._outputs(X)
        if logits.shape[1] == 1:
            # (1 - p and the columns in numpy: exact, and cheaper than
            # torch's calls for a served row)
            p = torch.sigmoid(logits).numpy()
            return np.concatenate((1 - p, p), axis=1)
        return torch.softmax(logits, dim=1).numpy()

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        logits = self._outputs(X)
        if logits.shape[1] == 1:
            logits = torch.cat([torch.zeros_like(logits), logits], dim=1)
        return torch.log_softmax(logits, dim=1).numpy()

    def predict(self, X):
        """Most probable class of every sample, as labels of ``classes_``."""
        out = self._forward(X)
        best = (out[:, 0] > 0).astype(int) if out.shape[1] == 1 else out.argmax(1)
        return self.classes_[best]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


class FIRegressorMixin(RegressorMixin):
    """Regressor side: the target is standardised for training."""

    def _target(self, y, sample_weight, classes=None, first_call=False):
        """The standardised target (with the weighted mean and standard
        deviation, so that defaults suit any scale), loss, outputs."""
        y = self._numbers(y, classes)
        self._y_mean, self._y_scale = standardise(y, sample_weight)
        return self._encode(y), nn.MSELoss, 1

    def _encode(self, y, classes=None):
        """The target of ``y`` on the scale learnt already."""
        y = self._numbers(y, classes)
        return ((y - self._y_mean) / self._y_scale).astype(np.float32).reshape(-1, 1)

    def _numbers(self, y, classes):
        """``y`` as finite float64 numbers."""
        if classes is not None:
            raise ValueError("classes is for classifiers: leave it None.")
        try:
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError):
            example = next(v for v in np.asarray(y, dtype=object) if _not_number(v))
            raise ValueError(
                f"{type(self).__name__} needs a numeric target y; got "
                f"{example!r}: for labels, use a classifier."
            ) from None
        if not np.all(np.isfinite(y)):
            raise ValueError("y holds missing values (None or NaN) or infinity.")
        return y

    def predict(self, X):
        """Predicted target of every sample, shape (n_samples,)."""
        return self._forward(X)[:, 0] * self._y_scale + self._y_mean


def standardise(y, sample_weight=None) -> tuple[float, float]:
    """The (weighted) mean and standard deviation of ``y``, so that a model's
    defaults suit a target of any scale; a scale of 1 for a constant target."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean = np.average(y, weights=sample_weight)
        scale = np.sqrt(np.average((y - mean) ** 2, weights=sample_weight))
    if not np.isfinite(scale):  # (near 1e308 the squares overflow)
        top = float(np.max(np.abs(y)))
        z = y / top
        mean = np.average(z, weights=sample_weight)
        scale = top * np.sqrt(np.average((z - mean) ** 2, weights=sample_weight))
        mean = top * mean
    return float(mean), float(scale) or 1.0


def check_label_types(y) -> None:
    """Labels of one kind: mixed ones (``1`` and ``"1"``) would be merged or
    compared across types."""
    kinds = mixed_kinds(np.asarray(y))
    if kinds:
        raise ValueError(
            f"y mixes labels of several types ({', '.join(kinds)}); give labels "
            "of one type, e.g. y.astype(str)."
        )


def _not_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return True
    return False
