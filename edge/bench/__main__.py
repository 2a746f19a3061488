"""``python -m edge.bench``: what ``edge bench`` runs, and the child processes it starts."""

from edge.bench.cli import main

main()
