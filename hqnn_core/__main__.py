"""``python -m hqnn_core`` runs the ``hqnn`` command line."""

from hqnn_core.cli import main

main()
