"""Turn a backend's raw outputs for a batch into one typed result per image."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from edge.models.spec import ModelSpec, Task
from edge.preprocess import Geometry
from edge.tasks.classification import Classification, decode_classification
from edge.tasks.detection import Detections, decode_detection
from edge.tasks.instance_segmentation import InstanceSegmentation, decode_instance_segmentation
from edge.tasks.keypoints import KeypointDetections, decode_keypoints
from edge.tasks.layout import OutputLayout, check_output_shapes
from edge.tasks.params import InferenceParams
from edge.tasks.semantic_segmentation import SemanticSegmentation, decode_semantic
from edge.tasks.v1 import ImageSize

Result = Detections | InstanceSegmentation | KeypointDetections | Classification | SemanticSegmentation


def decode_batch(
    spec: ModelSpec,
    outputs: Sequence[npt.NDArray[np.generic]],
    geometries: Sequence[Geometry],
    params: InferenceParams,
    names: Sequence[str] | None = None,
) -> list[Result]:
    """One result per image in the batch. Output shapes are checked against the task first."""
    tensor_names = names or [f"output{i}" for i in range(len(outputs))]
    layout: OutputLayout = check_output_shapes(spec, [(n, tuple(o.shape)) for n, o in zip(tensor_names, outputs)])
    main = np.asarray(outputs[layout.main])
    results: list[Result] = []
    for b, g in enumerate(geometries):
        task = spec.task
        if task is Task.OBJECT_DETECTION:
            results.append(decode_detection(main[b], g, spec.class_names, params))
        elif task is Task.INSTANCE_SEGMENTATION:
            assert layout.protos is not None  # check_output_shapes guarantees it for this task
            protos = np.asarray(outputs[layout.protos])[b]
            results.append(decode_instance_segmentation(main[b], protos, g, spec.class_names, params, spec.mask_style))
        elif task is Task.KEYPOINT_DETECTION:
            kn = tuple(k.names for k in spec.keypoints)
            results.append(decode_keypoints(main[b], g, spec.class_names, kn, layout.kpt_dims, params))
        elif task is Task.CLASSIFICATION:
            results.append(
                decode_classification(
                    main[b],
                    ImageSize(g.src_w, g.src_h),
                    spec.class_names,
                    spec.multi_label,
                    spec.outputs_probabilities,
                    params.confidence,
                )
            )
        else:
            results.append(decode_semantic(main[b], g, spec.class_names, layout.class_offset))
    return results
