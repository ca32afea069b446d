"""Export fitted sklfi models to ONNX, to serve them outside Python.

Needs the ``export`` extra (``pip install "sklfi[export]"``).
"""

from ._api import onnx_inputs, to_onnx
from ._register import register

register()

__all__ = ["onnx_inputs", "to_onnx"]
