output "name" {
  description = "Function name."
  value       = google_cloudfunctions2_function.this.name
}

output "url" {
  description = "HTTPS endpoint: https://<region>-<project>.cloudfunctions.net/<name>."
  value       = google_cloudfunctions2_function.this.url
}

output "service" {
  description = "Name of the underlying Cloud Run service."
  value       = google_cloudfunctions2_function.this.service_config[0].service
}
