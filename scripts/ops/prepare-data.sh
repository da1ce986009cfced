#!/usr/bin/env bash
# Unpack the shared training datasets into data/ (git-ignored) in the dataset layout the
# pipeline expects: <dataset>/dataset.json + train/ [+ val/] with REAL/ and FAKE/ class folders.
#
# usage: scripts/ops/prepare-data.sh [<folder with the archives>]
#   The folder holds cifake-train.tar.gz and shoes-trainval.tar.gz (and, when present,
#   mixed-train.tar.gz and real-extra.tar.gz). Default: $DATA_ARCHIVES, else ../shared/data
#   beside the repository.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
case "${1:-}" in
  -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
src="${1:-${DATA_ARCHIVES:-$root/../shared/data}}"
dest="$root/data"
for archive in cifake-train.tar.gz shoes-trainval.tar.gz; do
  if [ ! -f "$src/$archive" ]; then
    echo "prepare-data: $src/$archive not found; pass the folder that holds the archives: scripts/ops/prepare-data.sh <folder>" >&2
    exit 2
  fi
done
mkdir -p "$dest"
# The two general archives are optional.
for pair in mixed-train:mixed real-extra:real-extra; do
  archive="${pair%%:*}" folder="${pair##*:}"
  if [ -f "$src/$archive.tar.gz" ] && [ ! -d "$dest/$folder" ]; then
    tar -xzf "$src/$archive.tar.gz" -C "$dest"
  fi
done
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
# The general dataset: mixed + real-extra + shoes, one folder per source, hard links to the above.
if [ -d "$dest/mixed" ] && [ -d "$dest/real-extra" ]; then
  python="${PYTHON:-/usr/bin/python3}"
  [ -x "$python" ] || python=python3
  (cd "$root" && "$python" -m training.general_dataset --data "$dest" --out "$dest/general" >/dev/null)
fi
echo "datasets ready under $dest"
