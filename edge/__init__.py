"""edge: an inference runtime for NVIDIA Jetson and other Linux boxes with a camera.

Importing ``edge`` loads no inference runtime (TensorRT, pycuda, onnxruntime, torch);
backends are imported when a model is opened.
"""

__version__ = "0.1.0"
