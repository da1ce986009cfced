# The one bucket of the project. Its top-level folders are managed folders, so IAM can be granted
# per folder (iam.tf) while the bucket keeps uniform bucket-level access:
#   models/<name>/production.json, models/<name>/<version>/...   the model registry (MODEL_STORE)
#   datasets/<name>/<version>/dataset.json + images              training data; dataset.json starts training
#   telemetry/...                                                 prediction records and drift reports (TELEMETRY_STORE)
#   function-sources/<md5>.zip                                    bundles Terraform created functions from
#   feedback/<model>/train/{REAL,FAKE}/, records/                 POST /feedback (FEEDBACK_STORE); --with-feedback reads it
#   vertex-staging/<run id>/<stage>/run/                          run folders of Vertex AI training jobs (vertex.tf)

locals {
  data_folders = toset(["models", "datasets", "telemetry", "function-sources", "vertex-staging", "feedback"])
}

resource "google_storage_bucket" "data" {
  name                        = local.bucket_name
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  # Every overwrite or delete keeps the previous generation for noncurrent_version_retention_days:
  # an overwritten production.json or model can be restored from it.
  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age            = var.telemetry_retention_days
      matches_prefix = ["telemetry/"]
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      age            = 30
      matches_prefix = ["function-sources/"]
    }
    action {
      type = "Delete"
    }
  }

  # The pipeline copies a job's run folder into the published model version; the staged copy is
  # only needed to debug a run.
  lifecycle_rule {
    condition {
      age            = var.vertex_staging_retention_days
      matches_prefix = ["vertex-staging/"]
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_version_retention_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_storage_managed_folder" "folder" {
  for_each = local.data_folders

  bucket = google_storage_bucket.data.name
  name   = "${each.key}/"
}

# The bundle made by scripts/ops/build-bundle.sh, zipped; its hash in the name makes each upload new.
data "archive_file" "bundle" {
  type        = "zip"
  source_dir  = local.bundle_dir
  output_path = "${path.root}/.terraform/function-source.zip"
  excludes    = ["node_modules"]
}

resource "google_storage_bucket_object" "function_source" {
  bucket = google_storage_bucket.data.name
  name   = "function-sources/${data.archive_file.bundle.output_md5}.zip"
  source = data.archive_file.bundle.output_path

  depends_on = [google_storage_managed_folder.folder]
}
