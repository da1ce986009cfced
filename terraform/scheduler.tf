# Runs drift once a day: Cloud Scheduler POSTs to the drift function with an OIDC token of the
# scheduler service account, the only identity besides the deployer allowed to invoke it.

resource "google_cloud_scheduler_job" "drift" {
  name             = "${var.name_prefix}-drift"
  region           = var.region
  description      = "Compares the last ${var.drift_window_hours} h of telemetry with each model's training reference."
  schedule         = var.drift_schedule
  time_zone        = var.drift_time_zone
  attempt_deadline = "600s"

  retry_config {
    retry_count          = 2
    min_backoff_duration = "60s"
  }

  http_target {
    http_method = "POST"
    uri         = module.function["drift"].url
    headers = {
      "Content-Type" = "application/json"
    }
    body = base64encode("{}")

    oidc_token {
      service_account_email = google_service_account.role["scheduler"].email
      audience              = module.function["drift"].url
    }
  }

  depends_on = [google_project_service.enabled]
}
