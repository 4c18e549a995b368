"""HDF5 backend: the only package of sessionh5 that imports h5py and hdf5plugin."""
