"""The daemon: config in, pipeline running, signals handled, sinks flushed on the way out.

Import :mod:`edge.daemon.runner` for the daemon itself; this package stays light so the CLI
can register its commands without loading OpenCV or a runtime.
"""
