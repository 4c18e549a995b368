"""Write tests/data/streams/reference-1.10.cxs from tests/reference_stream.py.

The stream is built with msgpack alone, as the reference application writes one
(ext 11 around a structure's state, attr_info tags without a record, every
extension code of the format), and compressed as its writer does by default: one
lz4 frame with the frame defaults. Run once; the file is committed so that tests
need nothing outside the repository. ``tests/test_reference_stream.py`` checks that
the file still decompresses to what the helper builds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import lz4.frame

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from reference_stream import reference_stream  # noqa: E402

TARGET = HERE / "streams" / "reference-1.10.cxs"


def main() -> None:
    TARGET.parent.mkdir(exist_ok=True)
    TARGET.write_bytes(lz4.frame.compress(reference_stream()))
    print(f"wrote {TARGET} ({TARGET.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
