"""On-disk names of the HDF5 session layout (see docs/format.md and schemas/).

Every name the writer and reader agree on lives here, so a layout change is a
change to this file plus a new LAYOUT_VERSION.
"""

from __future__ import annotations

LAYOUT_VERSION = 3
#: Layout versions this library reads (1: table rows are JSON Lines; 2: msgpack; 3: msgpack
#: rows whose arrays sit in the table's pools, Blosc chunks with an xxh3 per chunk for
#: compress="lz4", more value types, the whole attr_info table, numeric metadata lists and
#: the compression name; see docs/format.md).
READABLE_LAYOUTS = frozenset({1, 2, 3})

PREFIX = "sessionh5-"

# Root attributes
LAYOUT = PREFIX + "layout-version"
APP_NAME = PREFIX + "app-name"
SESSION_VERSION = PREFIX + "session-version"
LIBRARY_VERSION = PREFIX + "library-version"
MANAGERS = PREFIX + "managers"  # tags in save order
ATTR_MANAGERS = PREFIX + "attribute-managers"  # tags that were session attributes
ATTR_INFO = PREFIX + "attr-info"  # layout 3: every tag of the attr_info table, in order
MANAGER_NODES = PREFIX + "manager-nodes"  # node id of each manager, parallel to MANAGERS
METADATA_KEYS = PREFIX + "metadata-keys"  # metadata keys in order
JSON_METADATA = PREFIX + "json-metadata"  # metadata keys stored as tagged JSON text
PROVIDERS = PREFIX + "providers"  # JSON: provider -> [version, session write version]
NODES = PREFIX + "nodes"  # path of every object node, indexed by node id
FILTERS = PREFIX + "filters-needed"
COMPRESSION = PREFIX + "compression"  # layout 3: "lz4", "gzip" or "none", as saved
DIGEST = PREFIX + "digest"  # on the root and on every node: see digest.py
RAW_BYTES = PREFIX + "raw-array-bytes"

# Node attributes (object groups and tables)
NODE_KIND = PREFIX + "node"  # "object" or "table"
NODE_ID = PREFIX + "node-id"
CLASS = PREFIX + "class"
PROVIDER = PREFIX + "provider"
VERSION = PREFIX + "class-version"
ORDINAL = PREFIX + "ordinal"
STATE = PREFIX + "state"
TAG = PREFIX + "tag"
REFS = PREFIX + "refs"
REF_NODES = PREFIX + "ref-nodes"
REF_ROWS = PREFIX + "ref-rows"

OBJECT_NODE = "object"
TABLE_NODE = "table"

# Datasets inside a table node: one row per object
T_ORDINAL = "ordinal"
T_STATE = "state"  # uint8: every row's msgpack back to back (layout 1: JSON Lines)
T_STATE_START = "state_start"  # rows + 1 byte offsets into T_STATE
T_REF_START = "ref_start"
T_REFS = "refs"
T_REF_NODES = "ref_nodes"
T_REF_ROWS = "ref_rows"
#: The table columns a table's digest covers, in this order.
TABLE_COLUMNS = (T_ORDINAL, T_STATE, T_STATE_START, T_REF_START, T_REF_NODES, T_REF_ROWS)

# Layout 3: the arrays of a table's rows, in pools (see docs/format.md, "Array pools").
# Present only in tables whose rows hold arrays; their digest follows TABLE_COLUMNS.
T_ARRAY_START = "array_start"  # rows + 1: row i's arrays are entries [i]:[i + 1] below
T_ARRAY_POOL = "array_pool"  # per array: k of the pool dataset POOL_PREFIX + k holding it
T_ARRAY_OFFSET = "array_offset"  # per array: its first element in that pool
T_ARRAY_SHAPE_START = "array_shape_start"  # arrays + 1: bounds into T_ARRAY_SHAPE
T_ARRAY_SHAPE = "array_shape"  # every array's dimensions, back to back
ARRAY_COLUMNS = (T_ARRAY_START, T_ARRAY_POOL, T_ARRAY_OFFSET, T_ARRAY_SHAPE_START,
                 T_ARRAY_SHAPE)
#: Pool k is the dataset "pool.<k>": one dtype, its arrays' elements back to back (C order).
POOL_PREFIX = "pool."
#: Rows keep arrays up to this many bytes in their table's pools; an object with a larger
#: array becomes an object node with the array as a dataset of its own. From about this size
#: up a node's overhead is below the time to move its array, so crossing the limit costs
#: less than 2x (docs/performance.md, "Many objects with small arrays", has the measurement).
POOL_ARRAY_BYTES = 256 * 1024

#: Group for objects that no state manager reaches (foreign files only).
UNOWNED = "unowned"


def tag_to_name(tag: str) -> str:
    """An HDF5 link name for a tag; '/' and '%' are escaped so any tag fits."""
    return tag.replace("%", "%25").replace("/", "%2F") if tag not in ("", ".") else f"%{tag}"


def short_class(class_name: str) -> str:
    """The part of a class name a person reads first: ``pkg.mod.Volume`` -> ``Volume``."""
    return class_name.rsplit(".", 1)[-1].replace("/", "_").replace("\x00", "_") or "object"
