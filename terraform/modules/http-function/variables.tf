variable "project_id" {
  description = "Project of the function."
  type        = string
}

variable "region" {
  description = "Region of the function."
  type        = string
}

variable "name" {
  description = "Function name; also the name of its Cloud Run service and the last segment of its URL."
  type        = string
}

variable "entry_point" {
  description = "Name the code registers the handler under with functions.http(name, handler)."
  type        = string
}

variable "description" {
  description = "What the function does."
  type        = string
  default     = ""
}

variable "runtime" {
  description = "Cloud Functions runtime id, e.g. nodejs22."
  type        = string
}

variable "source_bucket" {
  description = "Bucket of the zipped source the function is first built from."
  type        = string
}

variable "source_object" {
  description = "Object name of the zipped source."
  type        = string
}

variable "build_environment" {
  description = "Build-time environment variables."
  type        = map(string)
  default     = {}
}

variable "build_service_account" {
  description = "Service account of the Cloud Build that turns the source into an image (projects/P/serviceAccounts/EMAIL)."
  type        = string
}

variable "docker_repository" {
  description = "Artifact Registry repository for the built image (projects/P/locations/R/repositories/NAME)."
  type        = string
}

variable "service_account_email" {
  description = "Runtime identity of the function."
  type        = string
}

variable "memory" {
  description = "Memory per instance, e.g. 1Gi."
  type        = string
}

variable "cpu" {
  description = "vCPUs per instance, e.g. \"1\"; at least 1 for a concurrency above 1."
  type        = string
}

variable "concurrency" {
  description = "Requests one instance serves at once."
  type        = number
}

variable "min_instances" {
  description = "Instances kept warm."
  type        = number
}

variable "max_instances" {
  description = "Upper bound on instances, and so on cost."
  type        = number
}

variable "timeout_seconds" {
  description = "Request timeout."
  type        = number
}

variable "environment" {
  description = "Runtime environment variables."
  type        = map(string)
  default     = {}
}

variable "secret_volumes" {
  description = "Secret Manager secrets mounted as files: the latest version of secret appears at mount_path/path."
  type = list(object({
    mount_path = string
    secret     = string
    path       = string
  }))
  default = []
}

variable "invokers" {
  description = "Principals given roles/run.invoker, keyed by a name known at plan time: { public = \"allUsers\" } for a public function, service accounts otherwise."
  type        = map(string)
  default     = {}
}
