"""The risk ONNX model as the peers' servers run it: one onnxruntime session, threads as Flywheel's score sets them."""

import numpy as np
import onnxruntime as ort


class RiskSession:
    """Runs the risk model's `probability` output on [N, width] float32 rows."""

    def __init__(self, path: str):
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def run(self, rows: np.ndarray) -> np.ndarray:
        (probability,) = self.session.run(["probability"], {self.input: rows.astype(np.float32, copy=False)})
        return probability
