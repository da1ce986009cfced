# One service account per role, each granted only what its job needs, on the narrowest resource
# that carries the permission (a managed folder, a secret, a repository, a Cloud Run service).
# No primitive role (owner, editor, viewer) anywhere: functions/test/unit/terraform.test.ts checks it.

locals {
  service_accounts = {
    serving   = "predict, batch and health: reads models, writes telemetry and metrics, reads the API keys"
    drift     = "drift: reads models and telemetry, writes drift reports and metrics"
    training  = "the training build: reads datasets, writes models, pushes the training image"
    builder   = "builds the function images from source"
    scheduler = "Cloud Scheduler's identity (OIDC) when it calls drift"
    deployer  = "GitHub Actions: deploys the functions, runs the system tests, starts training runs"
    vertex    = "the Vertex AI training jobs: read datasets, write their run folders under vertex-staging/"
  }
}

resource "google_service_account" "role" {
  for_each = local.service_accounts

  account_id   = "${var.name_prefix}-${each.key}"
  display_name = "${var.name_prefix} ${each.key}"
  description  = "Used by ${each.value}."

  depends_on = [google_project_service.enabled]
}

# ---- Project-level grants: only roles that cannot be granted on a single resource. ----

resource "google_project_iam_member" "metric_writer" {
  for_each = toset(["serving", "drift"])

  project = var.project_id
  role    = "roles/monitoring.metricWriter"
  member  = google_service_account.role[each.key].member
}

resource "google_project_iam_member" "build_log_writer" {
  for_each = toset(["training", "builder", "vertex"])

  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.role[each.key].member
}

resource "google_project_iam_member" "deployer_functions_developer" {
  project = var.project_id
  role    = "roles/cloudfunctions.developer"
  member  = google_service_account.role["deployer"].member
}

# `gcloud functions deploy` uploads source to a bucket that Cloud Functions creates itself
# (gcf-v2-sources-<project number>-<region>); the builder may read objects in those buckets only.
resource "google_project_iam_member" "builder_reads_function_sources" {
  project = var.project_id
  role    = "roles/storage.objectViewer"
  member  = google_service_account.role["builder"].member

  condition {
    title      = "gcf-sources-only"
    expression = "resource.name.startsWith(\"projects/_/buckets/gcf-v2-sources-\")"
  }
}

# ---- Bucket: one managed folder per kind of data (storage.tf). ----

locals {
  folder_grants = {
    serving_reads_models     = { folder = "models", role = "roles/storage.objectViewer", account = "serving" }
    serving_writes_telemetry = { folder = "telemetry", role = "roles/storage.objectCreator", account = "serving" }
    drift_reads_models       = { folder = "models", role = "roles/storage.objectViewer", account = "drift" }
    drift_uses_telemetry     = { folder = "telemetry", role = "roles/storage.objectUser", account = "drift" }
    training_reads_datasets  = { folder = "datasets", role = "roles/storage.objectViewer", account = "training" }
    training_writes_models   = { folder = "models", role = "roles/storage.objectUser", account = "training" }
    training_uses_staging    = { folder = "vertex-staging", role = "roles/storage.objectUser", account = "training" }
    serving_adds_feedback    = { folder = "feedback", role = "roles/storage.objectCreator", account = "serving" }
    serving_reads_feedback   = { folder = "feedback", role = "roles/storage.objectViewer", account = "serving" }
    training_reads_feedback  = { folder = "feedback", role = "roles/storage.objectViewer", account = "training" }
    vertex_reads_datasets    = { folder = "datasets", role = "roles/storage.objectViewer", account = "vertex" }
    vertex_uses_staging      = { folder = "vertex-staging", role = "roles/storage.objectUser", account = "vertex" }
    builder_reads_sources    = { folder = "function-sources", role = "roles/storage.objectViewer", account = "builder" }
  }
}

resource "google_storage_managed_folder_iam_member" "grant" {
  for_each = local.folder_grants

  bucket         = google_storage_bucket.data.name
  managed_folder = google_storage_managed_folder.folder[each.value.folder].name
  role           = each.value.role
  member         = google_service_account.role[each.value.account].member
}

# Images sent as {"uri": "gs://..."} are read from these buckets by the serving functions.
resource "google_storage_bucket_iam_member" "serving_reads_allowed_buckets" {
  for_each = toset(var.allowed_buckets)

  bucket = each.value
  role   = "roles/storage.objectViewer"
  member = google_service_account.role["serving"].member
}

# ---- Registries. ----

resource "google_artifact_registry_repository_iam_member" "training_pushes_image" {
  location   = google_artifact_registry_repository.training.location
  repository = google_artifact_registry_repository.training.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.role["training"].member
}

resource "google_artifact_registry_repository_iam_member" "builder_pushes_function_images" {
  location   = google_artifact_registry_repository.functions.location
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.role["builder"].member
}

# ---- Acting as the runtime and build identities when deploying. ----

resource "google_service_account_iam_member" "deployer_acts_as" {
  for_each = toset(["serving", "drift", "builder"])

  service_account_id = google_service_account.role[each.key].name
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.role["deployer"].member
}

# ---- GitHub Actions: Workload Identity Federation, no service account keys. ----

resource "google_iam_workload_identity_pool" "github" {
  workload_identity_pool_id = "${var.name_prefix}-github"
  display_name              = "GitHub Actions"
  description               = "OIDC tokens of ${var.github_repository}'s workflows."

  depends_on = [google_project_service.enabled]
}

resource "google_iam_workload_identity_pool_provider" "github" {
  workload_identity_pool_id          = google_iam_workload_identity_pool.github.workload_identity_pool_id
  workload_identity_pool_provider_id = "github-actions"
  display_name                       = "GitHub Actions"

  attribute_mapping = {
    "google.subject"       = "assertion.sub"
    "attribute.repository" = "assertion.repository"
    "attribute.ref"        = "assertion.ref"
  }
  attribute_condition = "assertion.repository == \"${var.github_repository}\""

  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}

resource "google_service_account_iam_member" "github_impersonates_deployer" {
  service_account_id = google_service_account.role["deployer"].name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.github.name}/attribute.repository/${var.github_repository}"
}
