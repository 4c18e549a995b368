"""Files: choosing a container, writing it crash-safe, and reading it back.

``backends.py`` picks the container and detects it from a file's first bytes;
``files.py`` is the module-level save; ``atomic.py`` makes path writes crash-safe.
``_hdf5/`` is the only place that imports h5py and hdf5plugin, ``_stream/`` (and
the HDF5 table rows in ``_hdf5/packed/``) the only ones that import msgpack.
"""
