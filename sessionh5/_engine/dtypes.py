"""numpy dtypes as JSON values: how tagged JSON and packed rows name an array's dtype.

A simple dtype is its string (``"<f4"``, ``">i2"``, ``"|S8"``); a structured or
sub-array dtype is its ``descr`` list, which keeps field names, titles, offsets and
padding. Reading refuses dtypes that hold Python objects (they could hold code).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.format import descr_to_dtype

from ..errors import CorruptFileError

__all__ = ["dtype_from_json", "dtype_to_json"]


def dtype_to_json(dtype: np.dtype) -> Any:
    """A dtype as JSON: its string for simple dtypes, its descr list for structured ones."""
    return dtype.str if dtype.fields is None and dtype.subdtype is None else dtype.descr


def dtype_from_json(spec: Any) -> np.dtype:
    """Rebuild a dtype read from a file, refusing object dtypes (they could hold code)."""
    try:
        # descr_to_dtype, not np.dtype: it turns the unnamed '|V' padding entries of
        # aligned records back into offsets instead of fields named f1, f2...
        dtype = np.dtype(spec) if isinstance(spec, str) else descr_to_dtype(_descr(spec))
    except (TypeError, ValueError) as exc:
        raise CorruptFileError(f"invalid array dtype {spec!r}: {exc}") from exc
    if dtype.hasobject:
        raise CorruptFileError(f"object dtype {spec!r} is not allowed in session files")
    return dtype


def _descr(spec: Any) -> Any:
    """A descr read from JSON, its tuples (fields, ``(title, name)`` pairs) back as tuples."""
    if isinstance(spec, list):
        return [_descr_field(field) if isinstance(field, list) else field for field in spec]
    return spec


def _descr_field(field: list[Any]) -> tuple[Any, ...]:
    name, fmt, *shape = field
    return (tuple(name) if isinstance(name, list) else name, _descr(fmt),
            *(tuple(s) if isinstance(s, list) else s for s in shape))
