"""ultralytics ``.pt`` files are pickles that ultralytics loads with ``weights_only=False``: whatever the file names
runs. Before handing one over, list the globals it references (torch reads them without running anything) and
refuse any that is not a class of torch.nn / ultralytics / a few containers, or one of torch's tensor rebuilders.

This narrows the risk; it does not remove it (a class constructor still runs). Load only weights you trust: the
pipeline loads only files a user names, never one it finds in a data folder.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from streid.errors import InputError

CLASS_MODULES = ("torch.nn.", "ultralytics.nn.", "ultralytics.utils", "collections", "pathlib", "types", "datetime",
                 "numpy", "torch")
FUNCTIONS = {"torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter", "torch._utils._rebuild_tensor",
             "torch._tensor._rebuild_from_type_v2", "torch._utils._rebuild_parameter_with_state",
             "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
             "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar", "copyreg._reconstructor",
             "_codecs.encode", "builtins.set", "builtins.frozenset", "builtins.slice", "builtins.range",
             "builtins.complex", "builtins.bytearray", "builtins.dict", "builtins.list", "builtins.tuple"}


def _is_class(name: str) -> bool:
    """A class (calling it builds an object) or a torch dtype (a constant); never a function."""
    import torch

    module, _, attr = name.rpartition(".")
    try:
        obj = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return False
    return isinstance(obj, (type, torch.dtype))


def check_pickle(path: str | Path) -> None:
    """InputError naming the first global of ``path`` that could run code when the pickle is loaded."""
    import torch

    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    except Exception as exc:  # not a torch zip / pickle at all
        raise InputError(f"{path}: not a readable torch file ({str(exc).splitlines()[0] if str(exc) else exc})") \
            from None
    for name in names:
        if name in FUNCTIONS:
            continue
        if name.startswith(CLASS_MODULES) and _is_class(name):
            continue
        raise InputError(f"{path}: refused: the pickle calls {name}, which could run code; only model classes and "
                         "tensors are loaded from .pt files (export the model to ONNX if you trust it)")
