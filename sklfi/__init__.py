"""sklfi: scikit-learn estimators for feature-interaction models.

FM, FFM, AFM, Wide & Deep, DeepFM, NFM and DLRM on sparse field-aware data,
built on skorch and PyTorch.
"""

from . import estimators
from . import io as io  # (sklfi.io; not in __all__: * would hide Python's io)
from ._config import config_context, get_config, set_config
from ._fields import FieldMatrix
from ._relational import RelationalMatrix
from .estimators import *  # noqa: F403 (the registry and the 14 estimators)

__version__ = "0.1.0"

__all__ = [
    "FieldMatrix",
    "RelationalMatrix",
    "config_context",
    "get_config",
    "set_config",
    *estimators.__all__,
]
