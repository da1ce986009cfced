#!/usr/bin/env bash
# Deploys the four functions with gcloud, with the settings Terraform gives them: runtime, build
# environment and sizing come from terraform/functions.json, which Terraform reads too; names of
# the service accounts, registry and secret follow terraform/iam.tf, functions.tf and secrets.tf;
# the environment matches local.environments in terraform/main.tf.
# functions/test/unit/terraform.test.ts runs this script with --dry-run and checks that the two agree.
#
# Terraform creates the functions and owns their IAM; this script ships new code to them. CI runs
# it on every push to main (.github/workflows/deploy.yml); run it by hand to deploy or roll back
# a commit:
#
#   scripts/ops/deploy.sh --project my-project [--region europe-west1] [--only predict,batch]
#   scripts/ops/deploy.sh --project my-project --dry-run     # print the gcloud commands only
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

usage() {
  cat <<'EOF'
Usage: scripts/ops/deploy.sh --project PROJECT_ID [options]

  --project ID             Google Cloud project (required)
  --region REGION          functions' region (default: europe-west1)
  --prefix NAME            Terraform's name_prefix (default: detector)
  --bucket NAME            data bucket (default: <project>-<prefix>)
  --default-model NAME     DEFAULT_MODEL (default: general)
  --allowed-buckets LIST   ALLOWED_BUCKETS, comma-separated (default: none)
  --drift-window-hours N   DRIFT_WINDOW_HOURS (default: 24)
  --drift-reader NAME      DRIFT_READER: files or bigquery (default: files; bigquery needs terraform/bigquery.tf applied)
  --bigquery-dataset NAME  dataset of the telemetry external tables (default: detector_telemetry)
  --bundle DIR             deploy this bundle instead of building deploy-bundle/
  --only NAMES             deploy only these functions, comma-separated
  --dry-run                print the commands instead of running them
EOF
}

project=""
region="europe-west1"
prefix="detector"
bucket=""
default_model="general"
allowed_buckets=""
drift_window_hours="24"
drift_reader="files"
bigquery_dataset="detector_telemetry"
bundle=""
only=""
dry_run=0

while [ $# -gt 0 ]; do
  case "$1" in
    --project) project="$2"; shift 2 ;;
    --region) region="$2"; shift 2 ;;
    --prefix) prefix="$2"; shift 2 ;;
    --bucket) bucket="$2"; shift 2 ;;
    --default-model) default_model="$2"; shift 2 ;;
    --allowed-buckets) allowed_buckets="$2"; shift 2 ;;
    --drift-window-hours) drift_window_hours="$2"; shift 2 ;;
    --drift-reader) drift_reader="$2"; shift 2 ;;
    --bigquery-dataset) bigquery_dataset="$2"; shift 2 ;;
    --bundle) bundle="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "deploy: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done

if [ -z "$project" ]; then
  echo "deploy: --project is required" >&2
  usage >&2
  exit 2
fi
bucket="${bucket:-$project-$prefix}"

# Prints a command in a form that can be pasted back into a shell: the words before the first
# option on one line, then one option per line.
show() {
  local line="" arg
  while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do
    line+="${line:+ }$(printf '%q' "$1")"
    shift
  done
  printf '%s' "$line"
  for arg in "$@"; do printf ' \\\n  %q' "$arg"; done
  printf '\n'
}

# name, identity, public, memory, cpu, concurrency, min, max, timeout of each function, and the
# runtime and build environment: all from terraform/functions.json.
settings="$(node - "$root/terraform/functions.json" "$only" <<'JS'
const fs = require('node:fs');
const [file, only] = process.argv.slice(2);
const deployment = JSON.parse(fs.readFileSync(file, 'utf8'));
const wanted = only === '' ? Object.keys(deployment.functions) : only.split(',');
const unknown = wanted.filter((name) => !(name in deployment.functions));
if (unknown.length > 0) {
  console.error(`deploy: no function ${unknown.join(', ')} in terraform/functions.json`);
  process.exit(2);
}
const buildEnv = Object.entries(deployment.build_environment).map(([key, value]) => `${key}=${value}`).join(',');
console.log(['runtime', deployment.runtime, buildEnv].join('\t'));
for (const name of wanted) {
  const f = deployment.functions[name];
  console.log([name, f.identity, f.public, f.memory, f.cpu, f.concurrency, f.min_instances, f.max_instances, f.timeout_seconds].join('\t'));
}
JS
)"

if [ -z "$bundle" ]; then
  bundle="$root/deploy-bundle"
  if [ "$dry_run" -eq 1 ]; then
    show bash "$root/scripts/build-bundle.sh" "$bundle"
  else
    bash "$root/scripts/build-bundle.sh" "$bundle"
  fi
fi

runtime=""
build_env=""
commands=()
names=()
while IFS=$'\t' read -r name identity public memory cpu concurrency min_instances max_instances timeout; do
  if [ "$name" = "runtime" ]; then
    runtime="$identity"
    build_env="$public"
    continue
  fi

  env="MODEL_STORE=gs://$bucket/models;TELEMETRY_STORE=gs://$bucket/telemetry;FEEDBACK_STORE=gs://$bucket/feedback;METRICS_SINK=cloud-monitoring"
  env+=";GOOGLE_CLOUD_PROJECT=$project;DEFAULT_MODEL=$default_model"
  case "$identity" in
    serving) env+=";API_KEYS_FILE=/etc/secrets/api-keys;ALLOWED_BUCKETS=$allowed_buckets;TRUSTED_PROXY_HOPS=1;FEEDBACK_RECENT_PREDICTIONS=0" ;;
    drift) env+=";DRIFT_WINDOW_HOURS=$drift_window_hours;DRIFT_READER=$drift_reader;BIGQUERY_TABLE=$project.$bigquery_dataset.telemetry_{model}" ;;
    *) echo "deploy: $name has unknown identity $identity in terraform/functions.json" >&2; exit 2 ;;
  esac
  env+=";LOG_EXECUTION_ID=true"

  if [ "$public" = "true" ]; then
    secrets=(--set-secrets="/etc/secrets/api-keys=$prefix-api-keys:latest")
  else
    secrets=(--clear-secrets)
  fi

  command=(
    gcloud functions deploy "$name"
    --gen2
    --project="$project"
    --region="$region"
    --runtime="$runtime"
    --source="$bundle"
    --entry-point="$name"
    --trigger-http
    --ingress-settings=all
    --memory="$memory"
    --cpu="$cpu"
    --concurrency="$concurrency"
    --min-instances="$min_instances"
    --max-instances="$max_instances"
    --timeout="${timeout}s"
    --service-account="$prefix-$identity@$project.iam.gserviceaccount.com"
    --build-service-account="projects/$project/serviceAccounts/$prefix-builder@$project.iam.gserviceaccount.com"
    --docker-repository="projects/$project/locations/$region/repositories/$prefix-functions"
    --set-build-env-vars="$build_env"
    --set-env-vars="^;^$env"
    "${secrets[@]}"
    --quiet
  )
  names+=("$name")
  commands+=("$(printf '%q ' "${command[@]}")")
done <<<"$settings"

if [ "$dry_run" -eq 1 ]; then
  for command in "${commands[@]}"; do
    eval "show $command"
  done
  exit 0
fi

# Deploy in parallel (each build takes minutes); report every failure, not just the first.
logs="$(mktemp -d)"
pids=()
for i in "${!commands[@]}"; do
  echo "deploy: ${names[$i]} ..."
  eval "${commands[$i]}" >"$logs/${names[$i]}.log" 2>&1 &
  pids+=($!)
done
failed=()
for i in "${!pids[@]}"; do
  if wait "${pids[$i]}"; then
    echo "deploy: ${names[$i]} deployed"
  else
    failed+=("${names[$i]}")
    echo "deploy: ${names[$i]} FAILED:" >&2
    cat "$logs/${names[$i]}.log" >&2
  fi
done
rm -rf "$logs"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "deploy: failed: ${failed[*]}" >&2
  exit 1
fi

for name in "${names[@]}"; do
  printf '%s\t%s\n' "$name" "$(gcloud functions describe "$name" --gen2 --project="$project" --region="$region" --format='value(url)')"
done
