"""ONNX Runtime on the CPU: the default backend and the reference for every other."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from edge.backends.base import Backend
from edge.backends.threads import usable_cores
from edge.errors import ModelError, first_line
from edge.models.onnx_file import TensorInfo


class OnnxRuntimeBackend(Backend):
    """``threads``: intra-op pool size (None: every usable core); ``spinning`` False stops idle
    pool workers from spin-waiting, for models that share the cores (see edge.backends.threads)."""

    name = "onnxruntime"

    def __init__(self, onnx_path: Path, threads: int | None = None, spinning: bool = True) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = threads or usable_cores()
        # Planned per-run blocks cost 20-40 MB more peak memory on yolov8n-size models (more with
        # several runs at once, edge/backends/threads.py) and no measurable speed: the arena
        # already makes each run's allocations cheap.
        opts.enable_mem_pattern = False
        if not spinning:
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own untyped errors for every load failure
            raise ModelError(f"{onnx_path}: ONNX Runtime cannot load the model: {first_line(exc)[:200]}") from None
        self.threads = opts.intra_op_num_threads
        self.spinning = spinning
        self.inputs = tuple(TensorInfo(i.name, tuple(i.shape), i.type) for i in self._session.get_inputs())
        self.outputs = tuple(TensorInfo(o.name, tuple(o.shape), o.type) for o in self._session.get_outputs())
        self._input_name = self.inputs[0].name
        self._output_names = [o.name for o in self.outputs]

    def infer(self, batch: npt.NDArray[np.float32]) -> list[npt.NDArray[np.generic]]:
        outs = self._session.run(self._output_names, {self._input_name: batch})
        return [np.asarray(o) for o in outs]
