# Training starts when a dataset is complete: scripts/ops/upload-dataset.ts uploads the images first and
# datasets/<name>/<version>/dataset.json last. Cloud Storage announces every new object on a Pub/Sub
# topic; a Cloud Build trigger subscribed to it runs pipeline/cloudbuild.yaml from the repository,
# but only for objects named datasets/<name>/<version>/dataset.json in this bucket.

resource "google_artifact_registry_repository" "training" {
  location      = var.region
  repository_id = "${var.name_prefix}-training"
  format        = "DOCKER"
  description   = "The training image built and used by pipeline/cloudbuild.yaml."

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 5
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "datasets" {
  name = "${var.name_prefix}-datasets"

  depends_on = [google_project_service.enabled]
}

# Cloud Storage publishes through its service agent.
data "google_storage_project_service_account" "gcs" {
  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic_iam_member" "gcs_publishes" {
  topic  = google_pubsub_topic.datasets.id
  role   = "roles/pubsub.publisher"
  member = data.google_storage_project_service_account.gcs.member
}

# The train workflow (.github/workflows/train.yml) publishes the same message by hand.
resource "google_pubsub_topic_iam_member" "deployer_publishes" {
  topic  = google_pubsub_topic.datasets.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.role["deployer"].member
}

resource "google_storage_notification" "datasets" {
  bucket             = google_storage_bucket.data.name
  topic              = google_pubsub_topic.datasets.id
  payload_format     = "JSON_API_V1"
  event_types        = ["OBJECT_FINALIZE"]
  object_name_prefix = "datasets/"

  depends_on = [google_pubsub_topic_iam_member.gcs_publishes]
}

locals {
  repository_url = "https://github.com/${var.github_repository}"
}

# Needs the repository connected to Cloud Build once, by hand (docs/deployment.md).
resource "google_cloudbuild_trigger" "training" {
  name            = "${var.name_prefix}-train-on-dataset"
  location        = "global"
  description     = "Trains, evaluates and publishes a model when datasets/<name>/<version>/dataset.json arrives."
  service_account = google_service_account.role["training"].id

  pubsub_config {
    topic = google_pubsub_topic.datasets.id
  }

  source_to_build {
    uri       = local.repository_url
    ref       = "refs/heads/${var.github_branch}"
    repo_type = "GITHUB"
  }

  git_file_source {
    path      = "pipeline/cloudbuild.yaml"
    uri       = local.repository_url
    revision  = "refs/heads/${var.github_branch}"
    repo_type = "GITHUB"
  }

  # $(...) reads the notification's attributes; $${...} is Cloud Build's bash-style expansion
  # (written $$ to keep Terraform from interpolating it). For datasets/shoes/v3/dataset.json:
  # _DATASET_URI = gs://<bucket>/datasets/shoes/v3, _MODEL_NAME = shoes.
  substitutions = {
    _OBJECT_ID     = "$(body.message.attributes.objectId)"
    _BUCKET        = "$(body.message.attributes.bucketId)"
    _DATASET_URI   = "gs://$${_BUCKET}/$${_OBJECT_ID%/dataset.json}"
    _DATASET_PATH  = "$${_OBJECT_ID#datasets/}"
    _MODEL_NAME    = "$${_DATASET_PATH%%/*}"
    _MODEL_STORE   = "gs://${google_storage_bucket.data.name}/models"
    _ARTIFACT_REPO = google_artifact_registry_repository.training.repository_id
    _EPOCHS        = var.training_epochs == null ? "" : tostring(var.training_epochs)
    _REGION        = var.region
    _RUNNER        = var.training_runner
    _VERTEX_SA     = google_service_account.role["vertex"].email
    _VERTEX_STAGE  = local.vertex_staging_uri
  }

  # Model names follow functions/src/serving/config.ts (DEFAULT_MODEL), versions models/production.schema.json.
  filter = "_BUCKET == '${google_storage_bucket.data.name}' && _OBJECT_ID.matches('^datasets/[a-z0-9][a-z0-9_-]{0,62}/[A-Za-z0-9][A-Za-z0-9._-]{0,127}/dataset[.]json$')"

  depends_on = [
    google_project_iam_member.build_log_writer,
    google_storage_managed_folder_iam_member.grant,
    google_artifact_registry_repository_iam_member.training_pushes_image,
  ]
}
