"""An MLServer custom runtime serving the risk ONNX model (model-settings.json: parameters.uri is the .onnx file)."""

from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse

from onnx_risk import RiskSession


class OnnxRisk(MLModel):
    async def load(self) -> bool:
        uri = self.settings.parameters.uri if self.settings.parameters else None
        if not uri:
            raise ValueError("model-settings.json must name the .onnx file in parameters.uri")
        self.risk = RiskSession(uri)
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        probability = self.risk.run(NumpyCodec.decode_input(payload.inputs[0]))
        return InferenceResponse(
            id=payload.id,
            model_name=self.name,
            model_version=self.version,
            outputs=[NumpyCodec.encode_output("probability", probability)],
        )
