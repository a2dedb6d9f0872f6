"""Read pickled ``.npy`` files without letting them run code.

VITRA-1M ships each episode as a dict pickled inside a 0-d object ``.npy``. ``np.load(...,
allow_pickle=True)`` would execute whatever callable the pickle names, so a downloaded file could
run arbitrary commands. Here the header is parsed with numpy's public format readers and the
payload goes through an unpickler whose ``find_class`` resolves only the globals numpy needs to
rebuild arrays and scalars; containers (dict, list, tuple, str, numbers) need no globals at all.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from numpy._core import multiarray
from numpy.lib import format as npy_format


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle names a global outside the numpy array-reconstruction allow-list."""


class NpyFormatError(ValueError):
    """The file is not a well-formed ``.npy`` holding one pickled object."""


# numpy 2.x pickles arrays through ``numpy._core.multiarray``; files written by numpy 1.x name
# ``numpy.core.multiarray``. Both names map to the same objects, resolved here rather than by
# importing the named module, so nothing outside this table is ever imported or looked up.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy._core.multiarray", "_reconstruct"): multiarray._reconstruct,
    ("numpy.core.multiarray", "_reconstruct"): multiarray._reconstruct,
    ("numpy._core.multiarray", "scalar"): multiarray.scalar,
    ("numpy.core.multiarray", "scalar"): multiarray.scalar,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds numpy arrays and plain containers and refuses everything else."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refusing to load global {module}.{name}: only numpy array reconstruction is allowed"
            ) from None


def _read_header(file: BinaryIO) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = npy_format.read_magic(file)
    if version == (1, 0):
        return npy_format.read_array_header_1_0(file)
    if version in ((2, 0), (3, 0)):
        return npy_format.read_array_header_2_0(file)
    raise NpyFormatError(f"unsupported .npy format version {version}")


def load_npy_object(path: str | Path) -> Any:
    """The object pickled in a 0-d object ``.npy`` at ``path``, loaded with ``NumpyOnlyUnpickler``.

    Raises:
        UnsafePickleError: the pickle names a disallowed global (nothing of it has run).
        NpyFormatError: not a ``.npy``, not a 0-d object array, or truncated/corrupt.
    """
    path = Path(path)
    with path.open("rb") as file:
        try:
            shape, _, dtype = _read_header(file)
        except ValueError as error:  # numpy's readers raise ValueError for a bad magic or header
            raise NpyFormatError(f"{path.name}: not a valid .npy file ({error})") from None
        if dtype != np.dtype(object) or shape != ():
            raise NpyFormatError(
                f"{path.name}: expected a 0-d object array (a pickled dict), got dtype {dtype} shape {shape}"
            )
        try:
            array = NumpyOnlyUnpickler(file).load()
        except UnsafePickleError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as error:
            reason = f"{type(error).__name__}: {error}"
            raise NpyFormatError(f"{path.name}: truncated or corrupt pickle ({reason})") from None
    if not isinstance(array, np.ndarray) or array.dtype != object or array.shape != ():
        raise NpyFormatError(f"{path.name}: pickle does not hold a 0-d object array")
    return array.item()
