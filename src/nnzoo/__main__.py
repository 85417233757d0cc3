"""``python -m nnzoo`` (and ``torchrun -m nnzoo``) is the ``nnzoo`` command."""

import sys

from nnzoo.cli.main import main

sys.exit(main())
