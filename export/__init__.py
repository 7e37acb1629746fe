"""streid.export: ONNX (and INT8), TensorRT engines and the detector export, checked against PyTorch."""
