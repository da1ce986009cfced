# The HTTP functions, one module instance each, sized by functions.json. The entry point is the
# name the code registers (functions/src/serving/app.ts); the function name is the same, so each URL ends in
# /predict, /batch, /explain, /health, /drift or /web.
#
# predict, batch, explain and health are public at the IAM level (allUsers may invoke) and check API keys in
# the code. drift has no API keys and no public invoker: only Cloud Scheduler (OIDC) and the
# deployer (the system tests) may call it.

resource "google_artifact_registry_repository" "functions" {
  location      = var.region
  repository_id = "${var.name_prefix}-functions"
  format        = "DOCKER"
  description   = "Images of the functions, built from source by Cloud Build."

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 10
    }
  }

  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "2592000s"
    }
  }

  depends_on = [google_project_service.enabled]
}

module "function" {
  source   = "./modules/http-function"
  for_each = local.functions

  project_id  = var.project_id
  region      = var.region
  name        = each.key
  entry_point = each.key
  description = each.value.description

  runtime               = local.deployment.runtime
  build_environment     = local.deployment.build_environment
  build_service_account = google_service_account.role["builder"].id
  docker_repository     = google_artifact_registry_repository.functions.id
  source_bucket         = google_storage_bucket.data.name
  source_object         = google_storage_bucket_object.function_source.name

  service_account_email = google_service_account.role[each.value.identity].email
  memory                = each.value.memory
  cpu                   = each.value.cpu
  concurrency           = each.value.concurrency
  min_instances         = each.value.min_instances
  max_instances         = each.value.max_instances
  timeout_seconds       = each.value.timeout_seconds
  environment           = local.environments[each.value.identity]

  secret_volumes = each.value.public ? [
    {
      mount_path = "/etc/secrets"
      secret     = google_secret_manager_secret.api_keys.secret_id
      path       = "api-keys"
    }
  ] : []

  invokers = each.value.public ? tomap({ public = "allUsers" }) : tomap({
    scheduler = google_service_account.role["scheduler"].member
    deployer  = google_service_account.role["deployer"].member
  })

  depends_on = [
    google_project_iam_member.build_log_writer,
    google_project_iam_member.builder_reads_function_sources,
    google_storage_managed_folder_iam_member.grant,
    google_artifact_registry_repository_iam_member.builder_pushes_function_images,
    google_secret_manager_secret_iam_member.api_keys_reader,
    google_secret_manager_secret_version.first_api_key,
  ]
}
