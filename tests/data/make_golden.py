"""Write the golden files of the current layout version into tests/data/layouts/v<N>/.

Run once per released layout version (``python tests/data/make_golden.py``) and
commit the files; never regenerate existing ones (see layouts/v1/README.md). Files
that already exist are kept, so running it again only adds what is missing.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from golden_classes import (  # noqa: E402
    golden_arrays_session,
    golden_rows_session,
    golden_session,
    golden_values_session,
)

from sessionh5 import save  # noqa: E402
from sessionh5._containers._hdf5.layout import LAYOUT_VERSION  # noqa: E402

#: File name -> (format, compression)
FILES = {
    "session-lz4.h5s": ("hdf5", "lz4"),
    "session-gzip.h5s": ("hdf5", "gzip"),
    "session-lz4.cxs": ("stream", "lz4"),
    "session-gzip.cxs": ("stream", "gzip"),
}
#: Layout version -> its extra files: file name -> (function building the session, format,
#: compression). Layout 2's rows file puts every kind of value in msgpack table rows;
#: it belongs to layout 2 only (a later layout that changes rows gets an entry of its own).
#: Layout 3's arrays file stores every kind of chunk its array codec writes.
EXTRA_FILES = {
    2: {"rows-lz4.h5s": (golden_rows_session, "hdf5", "lz4")},
    3: {"rows-lz4.h5s": (golden_rows_session, "hdf5", "lz4"),  # its arrays are pooled
        "arrays-lz4.h5s": (golden_arrays_session, "hdf5", "lz4"),
        "values-lz4.h5s": (golden_values_session, "hdf5", "lz4"),
        "values-lz4.cxs": (golden_values_session, "stream", "lz4")},
}


def main() -> None:
    folder = HERE / "layouts" / f"v{LAYOUT_VERSION}"
    folder.mkdir(parents=True, exist_ok=True)
    for name, (fmt, compress) in FILES.items():
        if (folder / name).exists():
            print(f"keeping {name}: golden files are never rewritten")
            continue
        save(golden_session(cycle=fmt == "hdf5"), folder / name, format=fmt, compress=compress)
        print(f"wrote {name} ({(folder / name).stat().st_size} bytes)")
    for name, (build, fmt, compress) in EXTRA_FILES.get(LAYOUT_VERSION, {}).items():
        if (folder / name).exists():
            print(f"keeping {name}: golden files are never rewritten")
            continue
        save(build(), folder / name, format=fmt, compress=compress)
        print(f"wrote {name} ({(folder / name).stat().st_size} bytes)")


if __name__ == "__main__":
    main()
