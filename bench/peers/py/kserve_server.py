"""KServe's Python model server with the risk ONNX model behind the Open Inference Protocol v2 REST API.

Environment: PEER_MODEL_FILE (the .onnx file), PEER_MODEL_NAME, PEER_HTTP_PORT.
"""

import logging
import os

import kserve
from kserve import InferOutput, InferRequest, InferResponse
from kserve.utils.utils import generate_uuid

from onnx_risk import RiskSession


class RiskModel(kserve.Model):
    def __init__(self, name: str, path: str):
        super().__init__(name)
        self.path = path
        self.risk: RiskSession | None = None

    def load(self) -> bool:
        self.risk = RiskSession(self.path)
        self.ready = True
        return self.ready

    def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
        assert self.risk is not None
        probability = self.risk.run(payload.inputs[0].as_numpy())
        output = InferOutput(name="probability", shape=list(probability.shape), datatype="FP32")
        output.set_data_from_numpy(probability, binary_data=False)
        return InferResponse(
            response_id=payload.id or generate_uuid(),
            model_name=self.name,
            infer_outputs=[output],
        )


if __name__ == "__main__":
    model = RiskModel(os.environ["PEER_MODEL_NAME"], os.environ["PEER_MODEL_FILE"])
    model.load()
    server = kserve.ModelServer(
        http_port=int(os.environ["PEER_HTTP_PORT"]),
        workers=1,
        enable_grpc=False,
        enable_latency_logging=False,
    )
    # One access-log line per request is a cost Flywheel's score does not pay; the peer runs without it too.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    server.start([model])
