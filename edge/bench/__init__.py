"""``edge bench``: the benchmark's package. ``cli`` runs it (and its child processes), ``cases``
names the crowd and multi-model cases, ``multi`` runs two models on two streams, ``report``
prints what was measured, ``stages`` splits one stream's time by stage.

Nothing is imported here, so ``edge --help`` loads only the argparse side (edge.bench.cli).
"""
