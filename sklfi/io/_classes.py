"""The classes a file may name: an explicit allow-list. A file names a class
by one of these keys only; :func:`sklfi.io.load` never imports a name it
reads."""

from __future__ import annotations

from sklearn.pipeline import Pipeline

from .. import estimators as _estimators
from .._fields import Fields
from ..preprocessing import FieldCrosser, FieldEncoder, FieldHasher, MovieLensFeatures
from ..preprocessing._history import History
from ..preprocessing._movielens_tables import Entities

#: Estimators, transformers and pipelines, by their public names: written
#: with their parameters and fitted attributes.
ESTIMATORS = {
    **{
        f"sklfi.{name}": getattr(_estimators, name)
        for name in _estimators.__all__
        if name not in ("MODELS", "Model")
    },
    **{
        f"sklfi.preprocessing.{cls.__name__}": cls
        for cls in (FieldEncoder, FieldHasher, FieldCrosser, MovieLensFeatures)
    },
    "sklearn.pipeline.Pipeline": Pipeline,
}

#: Plain objects that fitted estimators hold: written with their attributes.
OBJECTS = {
    "sklfi.Fields": Fields,
    "sklfi.preprocessing.History": History,
    "sklfi.preprocessing.Entities": Entities,
}

#: Attributes that cache what the others give, made again on first use:
#: written as None (a FieldHasher's cached fields of 2**20 columns a field
#: would take 8 MB each).
CACHES = {
    "sklfi.preprocessing.FieldEncoder": ("_layout", "_out_fields"),
    "sklfi.preprocessing.FieldHasher": ("_fields_cache",),
}

_ESTIMATOR_NAMES = {cls: name for name, cls in ESTIMATORS.items()}
_OBJECT_NAMES = {cls: name for name, cls in OBJECTS.items()}


def estimator_name(value) -> str | None:
    """The name of ``value``'s class if it is an allowed estimator (that
    class exactly: a subclass may hold code of its own)."""
    return _ESTIMATOR_NAMES.get(type(value))


def object_name(value) -> str | None:
    """The name of ``value``'s class if it is an allowed plain object."""
    return _OBJECT_NAMES.get(type(value))
