# One HTTP Cloud Function (gen2) and who may invoke it. All four functions use this module, so they
# are built, sized and secured the same way; only the values in functions.json differ.
#
# Terraform creates the function from the bundle it is given and owns every setting. Later code
# releases go through scripts/ops/deploy.sh (CI runs it on main), which uploads its own source; the
# source is therefore ignored after creation, so an apply never rolls code back to an old bundle.

resource "google_cloudfunctions2_function" "this" {
  project     = var.project_id
  location    = var.region
  name        = var.name
  description = var.description

  build_config {
    runtime               = var.runtime
    entry_point           = var.entry_point
    environment_variables = var.build_environment
    service_account       = var.build_service_account
    docker_repository     = var.docker_repository

    source {
      storage_source {
        bucket = var.source_bucket
        object = var.source_object
      }
    }
  }

  service_config {
    available_memory                 = var.memory
    available_cpu                    = var.cpu
    max_instance_request_concurrency = var.concurrency
    min_instance_count               = var.min_instances
    max_instance_count               = var.max_instances
    timeout_seconds                  = var.timeout_seconds
    environment_variables            = var.environment
    service_account_email            = var.service_account_email
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true

    dynamic "secret_volumes" {
      for_each = var.secret_volumes
      content {
        mount_path = secret_volumes.value.mount_path
        project_id = var.project_id
        secret     = secret_volumes.value.secret

        versions {
          version = "latest"
          path    = secret_volumes.value.path
        }
      }
    }
  }

  lifecycle {
    ignore_changes = [build_config[0].source]
  }
}

# Gen2 functions are Cloud Run services: invoking one takes roles/run.invoker on the service.
resource "google_cloud_run_v2_service_iam_member" "invoker" {
  for_each = var.invokers

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.this.service_config[0].service
  role     = "roles/run.invoker"
  member   = each.value
}
