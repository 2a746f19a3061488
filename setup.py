"""Packaging for edge. Tool settings (ruff, mypy, pytest) live in pyproject.toml."""

from setuptools import Extension, find_packages, setup

# edge/tasks/_native.c and its neighbours: instance segmentation's hot loops in C (docs/masks.md).
# optional: where no C compiler or Python headers are found, the install goes on without it and
# edge uses the numpy path (the same bits, slower); `edge doctor` says which one is in use.
# -ffp-contract=off: no fused multiply-add, which would change the masks' bits on ARM (Jetson).
NATIVE = Extension(
    "edge.tasks._native",
    sources=[
        "edge/tasks/_native.c",
        "edge/tasks/_rle.c",
        "edge/tasks/_contours.c",
        "edge/tasks/_outlines.c",
        "edge/tasks/_boxes.c",
    ],
    depends=["edge/tasks/_native.h"],
    extra_compile_args=["-O3", "-ffp-contract=off", "-std=c99"],
    libraries=["m"],
    optional=True,
)

OPENCV = "opencv-python-headless>=4.8,<5"  # see extras_require
HTTP = ["starlette>=0.37", "uvicorn>=0.29", "python-multipart>=0.0.9", "prometheus-client>=0.20"]

setup(
    name="edge",
    version="0.1.0",
    description="Edge inference runtime: ONNX/TensorRT models, camera pipelines, hosted-API v1 JSON over MQTT",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["edge", "edge.*"]),
    package_data={
        "edge": ["py.typed", "gpu/ptx/*.ptx", "tasks/_native.pyi"],
        "edge.service": ["edge.service.in", "edge.example.yaml"],
        "edge.web": ["page/*.html", "page/*.css", "page/*.js"],
        "edge.tracking": ["events.schema.json"],
    },
    install_requires=[
        "numpy>=1.24",
        "onnx>=1.15",
        "orjson>=3.9",  # edge/jsonfast.py: every published document; wheels for aarch64, no numpy
        "paho-mqtt>=2.0",
        "pyyaml>=6.0",
    ],
    extras_require={
        # OpenCV from pip (FFmpeg, no GStreamer). Not on a Jetson: it would hide JetPack's OpenCV,
        # the one built with GStreamer (hardware RTSP decode, CSI cameras); see docs/operations.md.
        # 4.x, as JetPack 6 ships (4.8): the suite then runs the API the device has. With 5.x
        # from pip it had not, and missed that cv2.utils.logging is 5.x only (edge failed to
        # import on every 4.x, JetPack's included).
        "opencv": [OPENCV],
        # The CPU reference backend with the pip OpenCV: desktops, servers, CI.
        "cpu": ["onnxruntime>=1.17", OPENCV],
        # A Jetson: ONNX Runtime for backend auto's fallback; OpenCV and TensorRT come from JetPack
        # (apt: python3-opencv, python3-libnvinfer) through a venv made with --system-site-packages.
        # JetPack's OpenCV is built against NumPy 1.x and fails to import under 2.x.
        "jetson": ["onnxruntime>=1.17", "pycuda>=2024.1", "numpy>=1.24,<2"],
        # On a Jetson, TensorRT comes with JetPack (python3-libnvinfer); pycuda builds against its CUDA.
        "tensorrt": ["tensorrt>=10.0", "pycuda>=2024.1"],
        # tensorrt-stubs is installed with --no-deps by tools/test.sh: it pulls TensorRT otherwise.
        # The v1 route, health and metrics server (`http:` in the config, `edge serve`); docs/serve.md.
        "http": HTTP,
        "test": [
            "onnxruntime>=1.17",
            "pytest>=8",
            "jsonschema>=4.20",
            "ruff>=0.6",
            "mypy>=1.10",
            "hypothesis>=6.100",  # tests/fuzz/
            "requests>=2.31",  # tests/serve/test_refusals.py: a client that sends the whole body first
            "playwright>=1.40",  # tests/web/test_page_browser.py drives Debian's chromium; no browser download
            *HTTP,
        ],
        # Only tools/train_fixtures.py uses these. Ultralytics is AGPL: edge/ never imports it.
        "tools": ["torch==2.14.1", "torchvision==0.29.1", "ultralytics>=8.4", "onnxslim>=0.1", "onnxruntime>=1.17"],
    },
    ext_modules=[NATIVE],
    entry_points={"console_scripts": ["edge=edge.cli:main"]},
)
