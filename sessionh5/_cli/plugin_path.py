"""``sessionh5 plugin-path``: where hdf5plugin keeps its filters, for HDF5 tools.

``HDF5_PLUGIN_PATH=$(sessionh5 plugin-path) h5dump FILE`` lets h5dump decode the
LZ4-compressed datasets that sessionh5 writes by default.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Register the ``plugin-path`` subcommand."""
    parser = subparsers.add_parser(
        "plugin-path", help="print the folder of the HDF5 filter plugins (for h5dump)",
        description="Print the folder holding hdf5plugin's compression filters, so that "
                    "HDF5_PLUGIN_PATH=$(sessionh5 plugin-path) h5dump FILE can read "
                    "LZ4-compressed session files.")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print hdf5plugin's filter folder."""
    from .._tools.info import filter_plugin_path

    print(filter_plugin_path())
    return 0
