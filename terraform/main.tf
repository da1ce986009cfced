# AI Product Photo Detector on Google Cloud. One `terraform apply` provisions a project:
#   apis.tf        the services the project needs
#   storage.tf     the bucket for models, datasets and telemetry, with one managed folder each
#   iam.tf         one service account per role, least-privilege grants, GitHub Workload Identity
#   secrets.tf     the API keys secret, mounted into the public functions
#   functions.tf   the four HTTP functions, all from modules/http-function
#   scheduler.tf   the daily drift job
#   bigquery.tf    external tables over the telemetry objects, for DRIFT_READER=bigquery
#   build.tf       registries, and a new datasets/**/dataset.json -> Pub/Sub -> Cloud Build training
#   monitoring.tf  alert policies and the dashboard
#   outputs.tf     function URLs, the bucket, and the values GitHub Actions needs

locals {
  bucket_name = var.bucket_name != "" ? var.bucket_name : "${var.project_id}-${var.name_prefix}"
  bundle_dir  = var.bundle_dir != "" ? var.bundle_dir : "${path.root}/../deploy-bundle"

  # Runtime, build environment and per-function sizing, shared with scripts/ops/deploy.sh.
  deployment = jsondecode(file("${path.module}/functions.json"))
  functions  = local.deployment.functions

  # Environment of each runtime identity (functions.json names one per function). Every name is a
  # variable of functions/src/serving/config.ts; the rest keep the defaults documented there.
  environments = {
    serving = {
      MODEL_STORE          = "gs://${local.bucket_name}/models"
      TELEMETRY_STORE      = "gs://${local.bucket_name}/telemetry"
      FEEDBACK_STORE       = "gs://${local.bucket_name}/feedback"
      METRICS_SINK         = "cloud-monitoring"
      GOOGLE_CLOUD_PROJECT = var.project_id
      DEFAULT_MODEL        = var.default_model
      API_KEYS_FILE        = "/etc/secrets/api-keys" # the secret volume of functions.tf
      ALLOWED_BUCKETS      = join(",", var.allowed_buckets)
      TRUSTED_PROXY_HOPS   = "1" # Google's front end appends the client address to X-Forwarded-For
      # predict and feedback are separate services here: a request_id never reaches the instance
      # that holds its image, so predict keeps none (docs/api.md, POST /feedback).
      FEEDBACK_RECENT_PREDICTIONS = "0"
      LOG_EXECUTION_ID            = "true"
    }
    drift = {
      MODEL_STORE          = "gs://${local.bucket_name}/models"
      TELEMETRY_STORE      = "gs://${local.bucket_name}/telemetry"
      FEEDBACK_STORE       = "gs://${local.bucket_name}/feedback" # unused by drift; set so that no default points at a local folder
      METRICS_SINK         = "cloud-monitoring"
      GOOGLE_CLOUD_PROJECT = var.project_id
      DEFAULT_MODEL        = var.default_model
      DRIFT_WINDOW_HOURS   = tostring(var.drift_window_hours)
      DRIFT_READER         = var.drift_reader
      BIGQUERY_TABLE       = "${var.project_id}.${var.bigquery_dataset}.telemetry_{model}" # bigquery.tf: one table per model
      LOG_EXECUTION_ID     = "true"
    }
  }
}
