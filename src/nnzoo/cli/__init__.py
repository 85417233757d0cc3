"""The ``nnzoo`` command line: a thin layer over the library (see ``main.py``)."""
