# Inputs. Only project_id and github_repository have no default; terraform.tfvars.example shows a
# complete file. Function sizing (memory, CPU, concurrency, instances) is not here but in
# functions.json, which scripts/ops/deploy.sh reads too.

variable "project_id" {
  description = "Google Cloud project that holds everything (one project per environment)."
  type        = string
}

variable "region" {
  description = "Region of the functions, the bucket, the registries and the scheduler job."
  type        = string
  default     = "europe-west1"
}

variable "environment" {
  description = "Environment name, used in labels and in the names of alerts and the dashboard."
  type        = string
  default     = "prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{0,9}$", var.environment))
    error_message = "environment must be 1-10 lower-case letters or digits, starting with a letter."
  }
}

variable "name_prefix" {
  description = "Prefix of service accounts, registries, the secret, the topic and the jobs. Service account ids are <prefix>-<role> and must stay within 30 characters."
  type        = string
  default     = "detector"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-20 characters: lower-case letters, digits and '-', starting with a letter."
  }
}

variable "bucket_name" {
  description = "Bucket for models, datasets and telemetry. Empty: <project_id>-<name_prefix>."
  type        = string
  default     = ""
}

variable "github_repository" {
  description = "GitHub repository (owner/name) whose Actions may deploy, and whose pipeline/cloudbuild.yaml the training trigger runs."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must look like owner/name."
  }
}

variable "github_branch" {
  description = "Branch whose build config and code the training trigger runs."
  type        = string
  default     = "main"
}

variable "bundle_dir" {
  description = "Folder made by scripts/ops/build-bundle.sh that the first apply deploys. Empty: ../deploy-bundle."
  type        = string
  default     = ""
}

variable "default_model" {
  description = "Model used when a request names none (DEFAULT_MODEL)."
  type        = string
  default     = "general"
}

variable "allowed_buckets" {
  description = "Buckets that {\"uri\": \"gs://...\"} requests may read (ALLOWED_BUCKETS); the serving account gets read access to each."
  type        = list(string)
  default     = []
}

variable "telemetry_retention_days" {
  description = "Telemetry objects are deleted this many days after they were written."
  type        = number
  default     = 90
}

variable "noncurrent_version_retention_days" {
  description = "Overwritten or deleted object versions (e.g. an earlier production.json) are kept this many days."
  type        = number
  default     = 30
}

variable "drift_schedule" {
  description = "Cron schedule of the drift job (POST to the drift function)."
  type        = string
  default     = "0 3 * * *"
}

variable "drift_time_zone" {
  description = "Time zone of drift_schedule."
  type        = string
  default     = "Etc/UTC"
}

variable "drift_window_hours" {
  description = "Telemetry window each drift run compares with the reference (DRIFT_WINDOW_HOURS); match it to drift_schedule."
  type        = number
  default     = 24
}

variable "training_epochs" {
  description = "Epochs of every training run started by a new dataset, over its recipe's (_EPOCHS of pipeline/cloudbuild.yaml); null: the recipe's."
  type        = number
  default     = null
  nullable    = true
}

variable "training_runner" {
  description = "Where a training run started by a new dataset trains (_RUNNER of pipeline/cloudbuild.yaml): vertex (a GPU custom job on Vertex AI) or local (the 8-CPU Cloud Build worker)."
  type        = string
  default     = "vertex"
  validation {
    condition     = contains(["vertex", "local"], var.training_runner)
    error_message = "training_runner must be vertex or local."
  }
}

variable "vertex_staging_retention_days" {
  description = "Days a Vertex AI job's staged run folder (vertex-staging/) is kept."
  type        = number
  default     = 30
}

variable "alert_email" {
  description = "Address that receives alert notifications. Empty: alerts only show in the console."
  type        = string
  default     = ""
}

variable "notification_channels" {
  description = "Further Cloud Monitoring notification channel ids for the alert policies."
  type        = list(string)
  default     = []
}

variable "error_rate_threshold" {
  description = "Alert when the share of 5xx responses of a function exceeds this for 5 minutes."
  type        = number
  default     = 0.05
}

variable "latency_p95_threshold_ms" {
  description = "Alert when the p95 time to score one image exceeds this many milliseconds for 10 minutes."
  type        = number
  default     = 1000
}

variable "score_task_count" {
  description = "Tasks of the bulk scoring job (each scores its share of the images); an execution may override it with --tasks."
  type        = number
  default     = 10

  validation {
    condition     = var.score_task_count >= 1 && var.score_task_count <= 10000
    error_message = "score_task_count must be between 1 and 10000."
  }
}

variable "score_task_timeout_seconds" {
  description = "Longest a scoring task may run; a task that is stopped resumes from its part file on retry."
  type        = number
  default     = 3600
}

variable "score_source_buckets" {
  description = "Other buckets the scoring job may read catalogues from (read-only); the project's bucket has catalogue/."
  type        = list(string)
  default     = []
}

variable "drift_reader" {
  description = "How the drift function reads the window: files (the telemetry objects) or bigquery (one query over the external tables of bigquery.tf)."
  type        = string
  default     = "files"
  validation {
    condition     = contains(["files", "bigquery"], var.drift_reader)
    error_message = "drift_reader must be files or bigquery."
  }
}

variable "bigquery_dataset" {
  description = "BigQuery dataset of the telemetry external tables (letters, digits and _)."
  type        = string
  default     = "detector_telemetry"
  validation {
    condition     = can(regex("^[A-Za-z0-9_]{1,1024}$", var.bigquery_dataset))
    error_message = "bigquery_dataset may hold letters, digits and _ only."
  }
}

variable "bigquery_models" {
  description = "Models that get an external telemetry table (telemetry_<model>); empty: default_model only."
  type        = list(string)
  default     = []
}
