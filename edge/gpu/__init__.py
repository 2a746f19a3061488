"""CUDA-side helpers of the TensorRT path: the preprocessing kernel and the CUDA context.

``kernel`` is plain Python (the kernel source and its arguments); ``context`` and
``cuda_preprocess`` import pycuda inside their functions, so importing this package does not.
"""
