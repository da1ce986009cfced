output "function_urls" {
  description = "HTTPS endpoint of each function."
  value       = { for name, function in module.function : name => function.url }
}

output "base_url" {
  description = "The functions' common URL prefix: <base_url>/predict, /batch, /health, /drift (BASE_URL of the system tests)."
  value       = trimsuffix(module.function["health"].url, "/health")
}

output "bucket" {
  description = "Bucket for models (models/), datasets (datasets/) and telemetry (telemetry/)."
  value       = google_storage_bucket.data.name
}

output "api_keys_secret" {
  description = "Secret Manager secret that holds the API keys, one per line."
  value       = google_secret_manager_secret.api_keys.secret_id
}

output "training_trigger" {
  description = "Cloud Build trigger that trains on each new dataset.json."
  value       = google_cloudbuild_trigger.training.name
}

output "training_cuda_image" {
  description = "The CUDA training image that Vertex AI training jobs run (pushed by pipeline/cloudbuild.yaml)."
  value       = local.training_cuda_image
}

output "vertex_staging" {
  description = "Where Vertex AI training jobs write their run folders."
  value       = local.vertex_staging_uri
}

output "dashboard_url" {
  description = "The Cloud Monitoring dashboard."
  value       = "https://console.cloud.google.com/monitoring/dashboards/builder/${element(split("/", google_monitoring_dashboard.detector.id), 3)}?project=${var.project_id}"
}

output "github_actions_variables" {
  description = "Repository variables the deploy and train workflows read (GitHub: Settings > Secrets and variables > Actions > Variables)."
  value = {
    GCP_PROJECT_ID                 = var.project_id
    GCP_REGION                     = var.region
    GCP_WORKLOAD_IDENTITY_PROVIDER = google_iam_workload_identity_pool_provider.github.name
    GCP_DEPLOYER_SERVICE_ACCOUNT   = google_service_account.role["deployer"].email
    DETECTOR_NAME_PREFIX           = var.name_prefix
    DETECTOR_BUCKET                = google_storage_bucket.data.name
  }
}

output "score_job" {
  description = "The bulk scoring Cloud Run job (gcloud run jobs execute <this> --args=score,…)."
  value       = google_cloud_run_v2_job.score.name
}

output "scoring_repository" {
  description = "Artifact Registry repository of the scoring image (scripts/detector/score-job.cloudbuild.yaml's _REPOSITORY)."
  value       = google_artifact_registry_repository.scoring.repository_id
}
