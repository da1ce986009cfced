# GPU training on Vertex AI (npm run pipeline -- --runner vertex, pipeline/src/vertex/): the
# training build only orchestrates; each training stage is a Vertex AI custom job that runs the
# CUDA training image (training/Dockerfile.cuda, <repository>/training-cuda) as its own service
# account, reads datasets/ and writes its run folder under vertex-staging/<run id>/ through the
# job's Cloud Storage mount. The build then fetches the run folder, evaluates, gates and publishes.

locals {
  vertex_staging_uri  = "gs://${google_storage_bucket.data.name}/vertex-staging"
  training_cuda_image = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.training.repository_id}/training-cuda"
}

data "google_project" "this" {
  project_id = var.project_id
}

# The training build creates, reads and cancels custom jobs. Vertex AI has no narrower resource to
# grant job creation on than the project; roles/aiplatform.user is its least role that can.
resource "google_project_iam_member" "training_runs_vertex_jobs" {
  project = var.project_id
  role    = "roles/aiplatform.user"
  member  = google_service_account.role["training"].member
}

# ... and starts them as the vertex service account, and as no other.
resource "google_service_account_iam_member" "training_acts_as_vertex" {
  service_account_id = google_service_account.role["vertex"].name
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.role["training"].member
}

# Vertex AI pulls custom containers as its Custom Code Service Agent.
resource "google_artifact_registry_repository_iam_member" "vertex_agent_pulls_cuda_image" {
  location   = google_artifact_registry_repository.training.location
  repository = google_artifact_registry_repository.training.name
  role       = "roles/artifactregistry.reader"
  member     = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-aiplatform-cc.iam.gserviceaccount.com"

  depends_on = [google_project_service.enabled]
}
