"""Values shared by training, export and serving. Changing any of these changes the serving contract.

The ones the TypeScript pipeline needs too (architectures, image extensions, class folders, splits,
the validation split rule, default sizes) are read from models/shared-constants.json, which
pipeline/src/shared-constants.ts reads as well.
"""

import json
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
_SHARED = json.loads((MODELS_DIR / "shared-constants.json").read_text())

LABELS = ("real", "ai_generated")
REAL_INDEX = 0
AI_INDEX = 1
CLASS_DIRS = dict(_SHARED["class_dirs"])
assert CLASS_DIRS == {"REAL": REAL_INDEX, "FAKE": AI_INDEX}, "models/shared-constants.json class_dirs disagree with the labels"
IMAGE_EXTENSIONS = tuple(_SHARED["image_extensions"])
SPLITS = tuple(_SHARED["splits"])
# A patch model's image is `uncertain` when its patch logits spread more than this (serving's verdict policy).
PATCH_DISAGREEMENT_LOGIT_STD = float(_SHARED["patch_disagreement_logit_std"])
ARCHITECTURES = tuple(_SHARED["architectures"])
DEFAULT_IMAGE_SIZE_COMPACT = int(_SHARED["default_image_size"]["compact"])
DEFAULT_IMAGE_SIZE_OTHER = int(_SHARED["default_image_size"]["other"])
SPLIT_HEX_DIGITS = int(_SHARED["validation_split"]["hex_digits"])
SPLIT_MODULUS = int(_SHARED["validation_split"]["modulus"])

# Per-channel normalisation applied after scaling pixels to [0, 1]: x = (p / 255 - MEAN) / STD.
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
PIXEL_SCALE = 1.0 / 255.0

INPUT_NAME = "input"
OUTPUT_NAME = "logits"
ONNX_OPSET = 17
METADATA_SCHEMA_VERSION = 1
