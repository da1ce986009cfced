#!/usr/bin/env bash
# Unpack the shared training datasets into data/ (git-ignored) in the dataset layout the
# pipeline expects: <dataset>/dataset.json + train/ [+ val/] with REAL/ and FAKE/ class folders.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="${1:-$root/../shared/data}"
dest="$root/data"
mkdir -p "$dest"
if [ ! -d "$dest/cifake/train" ]; then
  tar -xzf "$src/cifake-train.tar.gz" -C "$dest"
fi
if [ ! -d "$dest/shoes/train" ]; then
  tar -xzf "$src/shoes-trainval.tar.gz" -C "$dest"
fi
# The shoes archive names its validation split "valid"; the dataset contract calls it "val".
if [ -d "$dest/shoes/valid" ] && [ ! -d "$dest/shoes/val" ]; then
  mv "$dest/shoes/valid" "$dest/shoes/val"
fi
cat > "$dest/cifake/dataset.json" <<'JSON'
{
  "name": "cifake",
  "version": "train-cleaned-1",
  "classes": ["REAL", "FAKE"],
  "description": "CIFAKE official train split (CIFAR-10 real vs Stable Diffusion v1.4 fakes), 32x32 JPEG, with test-split leaks and byte duplicates removed.",
  "author": "Bird & Lotfi, IEEE Access 2024; cleaned copy"
}
JSON
cat > "$dest/shoes/dataset.json" <<'JSON'
{
  "name": "shoes",
  "version": "trainval-1",
  "classes": ["REAL", "FAKE"],
  "description": "Real shoe product photos vs Midjourney-generated shoes, 240x240 JPEG, publisher's train/valid split.",
  "author": "Kaggle: shoes dataset, real and AI generated images"
}
JSON
echo "datasets ready under $dest"
