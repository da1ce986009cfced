"""Training side of the AI Product Photo Detector: data, models, training loop and ONNX export."""
