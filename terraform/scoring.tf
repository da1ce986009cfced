# Bulk scoring as a Cloud Run job: `detector score` (scripts/detector/detector-cli.ts) packaged in an image
# (scripts/detector/score-job.Dockerfile, built by scripts/detector/score-job.cloudbuild.yaml). Each task scores the
# images of gs://<bucket>/catalogue/… (or any prefix it may read) whose id hashes to its
# CLOUD_RUN_TASK_INDEX of CLOUD_RUN_TASK_COUNT and writes gs://<bucket>/results/<run>/part-<i>.jsonl.
# Start an execution (docs/deployment.md, "Score a catalogue"):
#   gcloud run jobs execute <prefix>-score --region <region> --tasks 10 \
#     --args=score,gs://<bucket>/catalogue/2026-12,--out,gs://<bucket>/results/run-1/part-{task}.jsonl

resource "google_storage_managed_folder" "scoring" {
  for_each = toset(["catalogue", "results"])

  bucket = google_storage_bucket.data.name
  name   = "${each.key}/"
}

resource "google_service_account" "scoring" {
  account_id   = "${var.name_prefix}-scoring"
  display_name = "${var.name_prefix} scoring"
  description  = "Used by the bulk scoring job: reads models and catalogue images, writes results."

  depends_on = [google_project_service.enabled]
}

# Read models/ and catalogue/; create and replace its own part files under results/ (a restarted
# task rewrites its part), nothing else in the bucket.
resource "google_storage_managed_folder_iam_member" "scoring_reads" {
  for_each = {
    models    = google_storage_managed_folder.folder["models"].name
    catalogue = google_storage_managed_folder.scoring["catalogue"].name
  }

  bucket         = google_storage_bucket.data.name
  managed_folder = each.value
  role           = "roles/storage.objectViewer"
  member         = google_service_account.scoring.member
}

resource "google_storage_managed_folder_iam_member" "scoring_writes_results" {
  bucket         = google_storage_bucket.data.name
  managed_folder = google_storage_managed_folder.scoring["results"].name
  role           = "roles/storage.objectUser"
  member         = google_service_account.scoring.member
}

# Catalogues kept in other buckets (var.score_source_buckets) are read-only to the job.
resource "google_storage_bucket_iam_member" "scoring_reads_sources" {
  for_each = toset(var.score_source_buckets)

  bucket = each.value
  role   = "roles/storage.objectViewer"
  member = google_service_account.scoring.member
}

resource "google_artifact_registry_repository" "scoring" {
  location      = var.region
  repository_id = "${var.name_prefix}-scoring"
  format        = "DOCKER"
  description   = "The bulk scoring image (scripts/detector/score-job.Dockerfile)."

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 5
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_artifact_registry_repository_iam_member" "training_pushes_scoring_image" {
  location   = google_artifact_registry_repository.scoring.location
  repository = google_artifact_registry_repository.scoring.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.role["training"].member
}

resource "google_cloud_run_v2_job" "score" {
  name     = "${var.name_prefix}-score"
  location = var.region

  template {
    task_count  = var.score_task_count
    parallelism = var.score_task_count

    template {
      service_account = google_service_account.scoring.email
      timeout         = "${var.score_task_timeout_seconds}s"
      max_retries     = 3

      containers {
        image = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.scoring.repository_id}/detector:latest"
        args  = ["--help"]

        env {
          name  = "MODEL_STORE"
          value = "gs://${local.bucket_name}/models"
        }
        env {
          name  = "DEFAULT_MODEL"
          value = var.default_model
        }
        env {
          name  = "GOOGLE_CLOUD_PROJECT"
          value = var.project_id
        }

        resources {
          limits = {
            cpu    = "2"
            memory = "2Gi"
          }
        }
      }
    }
  }

  depends_on = [
    google_storage_managed_folder_iam_member.scoring_reads,
    google_storage_managed_folder_iam_member.scoring_writes_results,
  ]
}
