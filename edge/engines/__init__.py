"""TensorRT engines: build options, the on-disk cache, background builds and ``edge compile``.

Nothing here imports TensorRT or pycuda at module level; only ``builder``, ``trt_log`` and
``device`` touch them, inside functions or when they are themselves imported lazily.
"""
