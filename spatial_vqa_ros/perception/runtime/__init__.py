"""Runtimes the model families run on besides torch: ONNX export and ONNX Runtime
sessions (providers tried TensorRT -> CUDA -> CPU; the one that runs is reported).
Native TensorRT engines slot in beside them."""

from .onnx import PROVIDER_ORDER, OrtSession, create_session, export_onnx

__all__ = ["PROVIDER_ORDER", "OrtSession", "create_session", "export_onnx"]
