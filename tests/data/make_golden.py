"""Write the golden files of the current layout version into tests/data/layouts/v<N>/.

Run once per released layout version (``python tests/data/make_golden.py``) and
commit the files; never regenerate existing ones (see layouts/v1/README.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from golden_classes import golden_session  # noqa: E402

from sessionh5 import save  # noqa: E402
from sessionh5._hdf5.layout import LAYOUT_VERSION  # noqa: E402

#: File name -> (format, compression)
FILES = {
    "session-lz4.h5s": ("hdf5", "lz4"),
    "session-gzip.h5s": ("hdf5", "gzip"),
    "session-lz4.cxs": ("stream", "lz4"),
    "session-gzip.cxs": ("stream", "gzip"),
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


if __name__ == "__main__":
    main()
