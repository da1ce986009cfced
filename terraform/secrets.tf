# API keys of the public functions: one key per line in the latest version of this secret, mounted
# at /etc/secrets/api-keys (API_KEYS_FILE). Terraform writes a first random key without keeping it
# in the state (an ephemeral value into a write-only argument); read it, add or rotate keys with
# gcloud as docs/deployment.md shows. New instances read the latest version.

resource "google_secret_manager_secret" "api_keys" {
  secret_id = "${var.name_prefix}-api-keys"

  replication {
    auto {}
  }

  depends_on = [google_project_service.enabled]
}

ephemeral "random_password" "first_api_key" {
  length  = 40
  special = false
}

resource "google_secret_manager_secret_version" "first_api_key" {
  secret                 = google_secret_manager_secret.api_keys.id
  secret_data_wo         = ephemeral.random_password.first_api_key.result
  secret_data_wo_version = 1

  # Keys are managed with gcloud after the first apply.
  lifecycle {
    ignore_changes = all
  }
}

resource "google_secret_manager_secret_iam_member" "api_keys_reader" {
  for_each = toset(["serving", "deployer"])

  secret_id = google_secret_manager_secret.api_keys.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.role[each.key].member
}
