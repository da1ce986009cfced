# Drift over BigQuery (DRIFT_READER=bigquery): one external table per model over its telemetry
# objects, which are already Hive-partitioned:
#   gs://<bucket>/telemetry/<model>/dt=YYYY-MM-DD/hour=HH/<instance>-<seq>.ndjson
# The model folder is not a key=value folder, so each model has its own table whose prefix ends
# at it; the partition columns dt (DATE) and hour (INTEGER) come from the CUSTOM prefix and the
# other columns from the schema below (functions/src/monitoring/telemetry/telemetry-record.ts). Only dt=*
# objects are sources, so the drift reports under <model>/drift/ are not rows.
#
# Nothing is stored in BigQuery: a query reads the objects of the partitions it names, and queries
# must name some (require_partition_filter), so none scans the whole history by mistake. The
# drift function's account may run jobs in the project and read this dataset's tables; BigQuery
# reads the objects with that account's own access to telemetry/ (iam.tf, drift_uses_telemetry).

locals {
  bigquery_models = toset(length(var.bigquery_models) > 0 ? var.bigquery_models : [var.default_model])

  telemetry_feature_fields = [
    for name in ["width", "height", "bytes", "aspect_ratio", "megapixels", "brightness", "contrast", "saturation", "sharpness"] :
    { name = name, type = "FLOAT64", mode = "NULLABLE" }
  ]
  telemetry_schema = [
    { name = "time", type = "TIMESTAMP", mode = "NULLABLE" },
    { name = "model", type = "STRING", mode = "NULLABLE" },
    { name = "model_version", type = "STRING", mode = "NULLABLE" },
    { name = "probability", type = "FLOAT64", mode = "NULLABLE" },
    { name = "prediction", type = "STRING", mode = "NULLABLE" },
    {
      name   = "features",
      type   = "RECORD",
      mode   = "NULLABLE",
      fields = concat(local.telemetry_feature_fields, [{ name = "format", type = "STRING", mode = "NULLABLE" }])
    },
  ]
}

resource "google_bigquery_dataset" "telemetry" {
  dataset_id  = var.bigquery_dataset
  location    = var.region # the bucket's location: an external table must be in it
  description = "External tables over the telemetry objects of gs://${local.bucket_name}/telemetry/, for drift (DRIFT_READER=bigquery)."

  depends_on = [google_project_service.enabled]
}

resource "google_bigquery_table" "telemetry" {
  for_each = local.bigquery_models

  dataset_id          = google_bigquery_dataset.telemetry.dataset_id
  table_id            = "telemetry_${replace(each.key, "-", "_")}"
  description         = "Telemetry records of model ${each.key}, partitioned by dt and hour (UTC)."
  deletion_protection = false # the table holds no data; the objects stay in the bucket
  schema              = jsonencode(local.telemetry_schema)

  external_data_configuration {
    source_format         = "NEWLINE_DELIMITED_JSON"
    autodetect            = false
    source_uris           = ["gs://${google_storage_bucket.data.name}/telemetry/${each.key}/dt=*"]
    ignore_unknown_values = true
    max_bad_records       = 100 # damaged lines are skipped, as the file reader skips them (uncounted here)

    hive_partitioning_options {
      mode                     = "CUSTOM"
      source_uri_prefix        = "gs://${google_storage_bucket.data.name}/telemetry/${each.key}/{dt:DATE}/{hour:INTEGER}"
      require_partition_filter = true
    }
  }
}

# Least privilege for the drift function: run query jobs (project), read the tables (dataset).
resource "google_project_iam_member" "drift_runs_queries" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = google_service_account.role["drift"].member
}

resource "google_bigquery_dataset_iam_member" "drift_reads_telemetry_tables" {
  dataset_id = google_bigquery_dataset.telemetry.dataset_id
  role       = "roles/bigquery.dataViewer"
  member     = google_service_account.role["drift"].member
}
