#!/usr/bin/env python3
"""Writes the small, deterministic ONNX model the serving tests use, in the registry layout.

The "brightness" model has hand-set weights so that its answers are predictable:
P(AI) = sigmoid(4 * mean(x)) where x is the normalised input in [-1, 1]; a white image scores
~0.98, a black one ~0.02 and mid grey 0.5. It is a real ONNX graph (3x3 conv, ReLU, pooling,
linear head) run by the real onnxruntime, not a mock.

Usage: /usr/bin/python3 scripts/make-test-model.py [out_store_dir]
"""
import hashlib
import json
import os
import sys

import torch
from torch import nn

SIZE = 32
NAME = "brightness"
VERSION = "v1"


class BrightnessNet(nn.Module):
    def __init__(self):
        super().__init__()
        # Channel 0 passes mean(x)+1 (>= 0, survives the ReLU); channel 1 is a constant 1.
        self.conv = nn.Conv2d(3, 2, kernel_size=3, padding=1, bias=True)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(2, 2)

    def forward(self, x):
        return self.head(torch.flatten(self.pool(self.relu(self.conv(x))), 1))


def build():
    model = BrightnessNet()
    with torch.no_grad():
        model.conv.weight.zero_()
        model.conv.bias.zero_()
        # Centre tap only: channel 0 = mean over RGB + 1; channel 1 = 1.
        model.conv.weight[0, :, 1, 1] = 1.0 / 3.0
        model.conv.bias[0] = 1.0
        model.conv.bias[1] = 1.0
        # logit_real = 0; logit_ai = 4 * (c0 - c1) = 4 * mean(x).
        model.head.weight.zero_()
        model.head.bias.zero_()
        model.head.weight[1, 0] = 4.0
        model.head.weight[1, 1] = -4.0
    return model.eval()


def main():
    store = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "functions", "test", "fixtures", "models")
    out = os.path.join(store, NAME, VERSION)
    os.makedirs(out, exist_ok=True)
    model = build()
    path = os.path.join(out, "model.onnx")
    torch.onnx.export(
        model,
        torch.zeros(1, 3, SIZE, SIZE),
        path,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=13,
        do_constant_folding=True,
    )
    metadata = {
        "schema_version": 1,
        "name": NAME,
        "version": VERSION,
        "created_at": "2026-01-01T00:00:00Z",
        "architecture": "brightness-test-net",
        "parameters": sum(p.numel() for p in model.parameters()),
        "input": {"name": "input", "shape": [-1, 3, SIZE, SIZE], "dtype": "float32", "layout": "NCHW"},
        "output": {"name": "logits", "activation": "softmax", "ai_index": 1},
        "preprocessing": {
            "width": SIZE, "height": SIZE, "resize": "cover", "interpolation": "bilinear",
            "channel_order": "RGB", "scale": 1 / 255, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
        },
        "labels": ["real", "ai_generated"],
        "threshold": 0.5,
        "training": {"note": "hand-set weights for tests; P(AI) = sigmoid(4 * mean of the normalised input)"},
    }
    with open(os.path.join(out, "metadata.json"), "w") as f:
        json.dump(metadata, f, indent=2)
        f.write("\n")
    with open(path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    with open(os.path.join(store, NAME, "production.json"), "w") as f:
        json.dump({"version": VERSION, "sha256": sha, "updated_at": "2026-01-01T00:00:00Z"}, f, indent=2)
        f.write("\n")
    print(json.dumps({"model": path, "sha256": sha}))


if __name__ == "__main__":
    main()
