"""The layout schema: render a file's attributes as JSON and check them against it.

The JSON Schema files live in the top-level ``schemas/`` folder, one per layout
version; ``layout_document`` turns an open file's root and node attributes into
the plain JSON document those schemas describe (no dataset data is read).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ...errors import CorruptFileError
from . import layout
from .guard import members, node_group

__all__ = ["layout_document", "load_schema", "schema_problems"]

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"  # a link to the top-level schemas/


def load_schema(version: int = layout.LAYOUT_VERSION) -> dict[str, Any]:
    """The JSON Schema of one layout version."""
    path = SCHEMA_DIR / f"layout-v{version}.schema.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, h5py.Reference):
        return "<object reference>"
    if isinstance(value, np.ndarray):
        if value.dtype == np.uint8:
            return f"<{value.size} bytes>"
        if value.dtype.kind in "iu" and value.size > 2:
            # The schema's item rules on integer arrays (type, bounds) hold for every item
            # exactly when they hold for the smallest and the largest: a manager's 50k
            # reference ids cost jsonschema ~20 us each, and validate must stay near a restore.
            return [int(value.min()), int(value.max())]
        if value.dtype == object:
            return list(dict.fromkeys(_plain(v) for v in value))  # distinct: references
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _attributes(attrs: h5py.AttributeManager) -> dict[str, Any]:
    """Attributes as JSON data; object references are rendered without being read
    (h5py makes one Python object per reference: a manager's 50k cost ~0.1 s)."""
    out: dict[str, Any] = {}
    for name in attrs:
        stored = attrs.get_id(name)
        if h5py.check_dtype(ref=stored.dtype) is not None:
            shape = stored.shape or ()
            out[name] = ("<object reference>" if not shape
                         else ["<object reference>"] if stored.get_storage_size() else [])
        else:
            out[name] = _plain(attrs[name])
    return out


def layout_document(file: h5py.File) -> dict[str, Any]:
    """Root attributes and each listed node's attributes and dataset names, as JSON data.

    A long integer array is rendered as its smallest and largest value, and an array
    of object references as its distinct renderings: what the schemas say of their items.
    """
    root = _attributes(file.attrs)
    nodes = []
    for path in root.get(layout.NODES, []):
        try:
            group = node_group(file, path)
        except CorruptFileError:  # missing or not reached through hard links: no attrs
            nodes.append({"path": path, "attrs": {}})
            continue
        nodes.append({
            "path": path,
            "attrs": _attributes(group.attrs),
            "datasets": [n for n, kind in members(group) if kind == "dataset"],
        })
    return {"root": root, "nodes": nodes}


def schema_problems(file: h5py.File) -> list[str]:
    """Every schema violation of the file's attributes, as readable lines (empty = valid)."""
    import jsonschema

    document = layout_document(file)
    version = document["root"].get(layout.LAYOUT, layout.LAYOUT_VERSION)
    validator = jsonschema.Draft202012Validator(load_schema(int(version)))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in validator.iter_errors(document)]
