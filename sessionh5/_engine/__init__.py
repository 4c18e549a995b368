"""Saving and restoring without any file: the State protocol and the machinery it drives.

The class registry and snapshot methods, the walk that turns live objects into
records (``walk.py``), the rebuild that turns records back into objects
(``rebuild.py``), and the value encodings (tagged JSON, plain values). Nothing
here imports a container library or another wing of the package: containers
plug in through small protocols (``walk.RowFormat``, the rebuilder's RecordSource).
"""
