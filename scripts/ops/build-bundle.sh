#!/usr/bin/env bash
# Builds the folder that `gcloud functions deploy --source` and Terraform upload (default:
# deploy-bundle/, git-ignored):
#   dist/functions/src/**.js   the serving code, compiled from functions/src and what it imports
#   dist/models/*.schema.json  the JSON schemas that code imports (schemas only: models come from
#                              the bucket, MODEL_STORE)
#   package.json               runtime fields and dependencies; no devDependencies, and an empty
#                              gcp-build script so Cloud Build installs instead of compiling again
#   package-lock.json, .npmrc  the exact dependency tree; onnxruntime-node downloads nothing
#   .gcloudignore              keeps a local node_modules out of the upload
# No tests, source maps, TypeScript, data or model files.
#
# Usage: scripts/ops/build-bundle.sh [OUT_DIR]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$root/deploy-bundle}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
if [ "$out" = "$root" ] || [ "$out" = "/" ]; then
  echo "build-bundle: refusing to use $out as the output folder" >&2
  exit 2
fi

rm -rf "$out"
mkdir -p "$out"

# Compile only functions/src (tsc follows its imports), straight into the bundle.
tsconfig="$out/tsconfig.bundle.json"
cat > "$tsconfig" <<JSON
{
  "extends": "$root/tsconfig.build.json",
  "compilerOptions": {
    "rootDir": "$root",
    "outDir": "$out/dist",
    "typeRoots": ["$root/node_modules/@types"],
    "sourceMap": false,
    "declaration": false
  },
  "include": ["$root/functions/src/**/*.ts"],
  "exclude": ["$root/node_modules", "$root/**/test/**"]
}
JSON
"$root/node_modules/.bin/tsc" -p "$tsconfig"
rm "$tsconfig"

node - "$root/package.json" "$out/package.json" <<'JS'
const fs = require('node:fs');
const [source, target] = process.argv.slice(2);
const pkg = JSON.parse(fs.readFileSync(source, 'utf8'));
const bundle = {
  name: pkg.name,
  version: pkg.version,
  description: pkg.description,
  private: true,
  license: pkg.license,
  main: pkg.main,
  engines: pkg.engines,
  scripts: { 'gcp-build': '' },
  dependencies: pkg.dependencies,
};
fs.writeFileSync(target, `${JSON.stringify(bundle, null, 2)}\n`);
JS

cp "$root/package-lock.json" "$root/.npmrc" "$root/.gcloudignore" "$out/"

main="$(node -p 'require(process.argv[1]).main' "$out/package.json")"
if [ ! -f "$out/$main" ]; then
  echo "build-bundle: package.json main ($main) was not built" >&2
  exit 1
fi
echo "build-bundle: $out ($(find "$out" -type f | wc -l | tr -d ' ') files, $(du -sk "$out" | cut -f1) KiB)"
