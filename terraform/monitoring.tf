# Alert policies and the dashboard. The custom metric types are the ones the code writes
# (functions/src/monitoring/metrics/metric-names.ts); a unit test fails if a name here is not defined there.
# Custom series are written per serving instance against the generic_task resource, and CUMULATIVE
# ones restart at each cold start, so charts and alerts align with ALIGN_DELTA / ALIGN_RATE and
# then sum across instances.

locals {
  metric = {
    predictions        = "custom.googleapis.com/ai_photo_detector/predictions"
    prediction_latency = "custom.googleapis.com/ai_photo_detector/prediction_latency"
    prediction_score   = "custom.googleapis.com/ai_photo_detector/prediction_score"
    errors             = "custom.googleapis.com/ai_photo_detector/errors"
    telemetry_dropped  = "custom.googleapis.com/ai_photo_detector/telemetry_dropped"
    drift_status       = "custom.googleapis.com/ai_photo_detector/drift/status"
    drift_psi          = "custom.googleapis.com/ai_photo_detector/drift/psi"
    drift_ks_statistic = "custom.googleapis.com/ai_photo_detector/drift/ks_statistic"
    drift_mix          = "custom.googleapis.com/ai_photo_detector/drift/prediction_mix_difference"
    drift_samples      = "custom.googleapis.com/ai_photo_detector/drift/sample_count"
  }

  function_names         = sort(keys(local.functions))
  function_filter        = "resource.type = \"cloud_run_revision\" AND resource.label.service_name = one_of(${join(", ", [for name in local.function_names : "\"${name}\""])})"
  notification_channels  = concat(var.notification_channels, google_monitoring_notification_channel.email[*].id)
  alert_documentation_md = "Runbook: docs/deployment.md (Watching drift and the dashboard). Project ${var.project_id}, environment ${var.environment}."

  # Drift gauges get one point per drift run: look back one run period (at most the 25 h an
  # alert condition allows) so that the latest report is always in the window.
  drift_alignment = "${min(var.drift_window_hours, 24) * 3600}s"
}

resource "google_monitoring_notification_channel" "email" {
  count = var.alert_email == "" ? 0 : 1

  display_name = "ai-photo-detector ${var.environment} alerts"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }

  depends_on = [google_project_service.enabled]
}

# drift/status of the "overall" feature: -1 insufficient_data, 0 ok, 1 warning, 2 drift.
resource "google_monitoring_alert_policy" "drift" {
  display_name          = "[${var.environment}] Data drift detected"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels

  conditions {
    display_name = "drift/status is 2 (drift) for a model"

    condition_threshold {
      filter          = "metric.type = \"${local.metric.drift_status}\" AND resource.type = \"generic_task\" AND metric.label.feature = \"overall\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1.5
      duration        = "0s"

      aggregations {
        alignment_period     = local.drift_alignment
        per_series_aligner   = "ALIGN_MAX"
        cross_series_reducer = "REDUCE_MAX"
        group_by_fields      = ["metric.label.model"]
      }

      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "172800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The latest drift report of a model says its inputs or scores no longer look like its training data. Read the report (GET /drift), then decide whether to retrain on fresh data. ${local.alert_documentation_md}"
  }

  depends_on = [google_project_service.enabled]
}

# Share of 5xx responses per function, from Cloud Run's own request count: it also sees crashes,
# timeouts and out-of-memory kills that the code cannot count itself.
resource "google_monitoring_alert_policy" "error_rate" {
  display_name          = "[${var.environment}] Function error rate above ${var.error_rate_threshold * 100}%"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "5xx share of requests"

    condition_threshold {
      filter             = "metric.type = \"run.googleapis.com/request_count\" AND ${local.function_filter} AND metric.label.response_code_class = \"5xx\""
      denominator_filter = "metric.type = \"run.googleapis.com/request_count\" AND ${local.function_filter}"
      comparison         = "COMPARISON_GT"
      threshold_value    = var.error_rate_threshold
      duration           = "300s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }

      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "More than ${var.error_rate_threshold * 100}% of a function's responses are server errors. Check its logs (severity ERROR) and the errors-by-code chart; roll back with scripts/ops/deploy.sh from the last good commit if a release caused it. ${local.alert_documentation_md}"
  }

  depends_on = [google_project_service.enabled]
}

# p95 of the time to score one image, per model, across instances.
resource "google_monitoring_alert_policy" "latency" {
  display_name          = "[${var.environment}] p95 prediction latency above ${var.latency_p95_threshold_ms} ms"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels

  conditions {
    display_name = "p95 prediction_latency"

    condition_threshold {
      filter          = "metric.type = \"${local.metric.prediction_latency}\" AND resource.type = \"generic_task\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.latency_p95_threshold_ms
      duration        = "600s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_PERCENTILE_95"
        group_by_fields      = ["metric.label.model"]
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Scoring one image takes longer than ${var.latency_p95_threshold_ms} ms at the 95th percentile. Compare with `npm run bench`; look for a bigger model version, larger images, or CPU contention (concurrency in terraform/functions.json). ${local.alert_documentation_md}"
  }

  depends_on = [google_project_service.enabled]
}

locals {
  # One line chart of the dashboard: a metric filter, how to align it, and how to combine series.
  # Counters and latencies per 5 minutes; drift gauges per drift run.
  charts = [
    { title = "Predictions per second, by label", filter = "metric.type = \"${local.metric.predictions}\"", alignment = "300s", aligner = "ALIGN_RATE", reducer = "REDUCE_SUM", group_by = ["metric.label.label"] },
    { title = "p50 time to score one image (ms)", filter = "metric.type = \"${local.metric.prediction_latency}\"", alignment = "300s", aligner = "ALIGN_DELTA", reducer = "REDUCE_PERCENTILE_50", group_by = ["metric.label.model"] },
    { title = "p95 time to score one image (ms)", filter = "metric.type = \"${local.metric.prediction_latency}\"", alignment = "300s", aligner = "ALIGN_DELTA", reducer = "REDUCE_PERCENTILE_95", group_by = ["metric.label.model"] },
    { title = "Mean P(AI-generated) returned", filter = "metric.type = \"${local.metric.prediction_score}\"", alignment = "300s", aligner = "ALIGN_DELTA", reducer = "REDUCE_MEAN", group_by = ["metric.label.model"] },
    { title = "Errors per second, by code", filter = "metric.type = \"${local.metric.errors}\"", alignment = "300s", aligner = "ALIGN_RATE", reducer = "REDUCE_SUM", group_by = ["metric.label.code"] },
    { title = "Drift status (-1 insufficient data, 0 ok, 1 warning, 2 drift)", filter = "metric.type = \"${local.metric.drift_status}\" AND metric.label.feature = \"overall\"", alignment = local.drift_alignment, aligner = "ALIGN_MAX", reducer = "REDUCE_MAX", group_by = ["metric.label.model"] },
    { title = "PSI by feature (0.1 warning, 0.25 drift)", filter = "metric.type = \"${local.metric.drift_psi}\"", alignment = local.drift_alignment, aligner = "ALIGN_MAX", reducer = "REDUCE_MAX", group_by = ["metric.label.model", "metric.label.feature"] },
    { title = "KS statistic D by feature", filter = "metric.type = \"${local.metric.drift_ks_statistic}\"", alignment = local.drift_alignment, aligner = "ALIGN_MAX", reducer = "REDUCE_MAX", group_by = ["metric.label.model", "metric.label.feature"] },
    { title = "Prediction mix difference (share of ai_generated minus reference)", filter = "metric.type = \"${local.metric.drift_mix}\"", alignment = local.drift_alignment, aligner = "ALIGN_MAX", reducer = "REDUCE_MAX", group_by = ["metric.label.model"] },
    { title = "Records in the drift window", filter = "metric.type = \"${local.metric.drift_samples}\"", alignment = local.drift_alignment, aligner = "ALIGN_MAX", reducer = "REDUCE_MAX", group_by = ["metric.label.model"] },
    { title = "Telemetry records dropped per second", filter = "metric.type = \"${local.metric.telemetry_dropped}\"", alignment = "300s", aligner = "ALIGN_RATE", reducer = "REDUCE_SUM", group_by = [] },
    { title = "Requests per second, by function and status class", filter = "metric.type = \"run.googleapis.com/request_count\" AND ${local.function_filter}", alignment = "300s", aligner = "ALIGN_RATE", reducer = "REDUCE_SUM", group_by = ["resource.label.service_name", "metric.label.response_code_class"] },
    { title = "Instances, by function", filter = "metric.type = \"run.googleapis.com/container/instance_count\" AND ${local.function_filter}", alignment = "300s", aligner = "ALIGN_MAX", reducer = "REDUCE_SUM", group_by = ["resource.label.service_name"] },
  ]
}

resource "google_monitoring_dashboard" "detector" {
  dashboard_json = jsonencode({
    displayName = "AI Product Photo Detector (${var.environment})"
    mosaicLayout = {
      columns = 12
      tiles = [
        for index, chart in local.charts : {
          xPos   = (index % 2) * 6
          yPos   = floor(index / 2) * 4
          width  = 6
          height = 4
          widget = {
            title = chart.title
            xyChart = {
              dataSets = [{
                plotType = "LINE"
                timeSeriesQuery = {
                  timeSeriesFilter = {
                    filter = chart.filter
                    aggregation = {
                      alignmentPeriod    = chart.alignment
                      perSeriesAligner   = chart.aligner
                      crossSeriesReducer = chart.reducer
                      groupByFields      = chart.group_by
                    }
                  }
                }
              }]
            }
          }
        }
      ]
    }
  })

  depends_on = [google_project_service.enabled]
}
