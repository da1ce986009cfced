"""Values shared by training, export and serving. Changing any of these changes the serving contract."""

LABELS = ("real", "ai_generated")
REAL_INDEX = 0
AI_INDEX = 1
CLASS_DIRS = {"REAL": REAL_INDEX, "FAKE": AI_INDEX}
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
SPLITS = ("train", "val", "test")

# Per-channel normalisation applied after scaling pixels to [0, 1]: x = (p / 255 - MEAN) / STD.
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
PIXEL_SCALE = 1.0 / 255.0

INPUT_NAME = "input"
OUTPUT_NAME = "logits"
ONNX_OPSET = 17
METADATA_SCHEMA_VERSION = 1
