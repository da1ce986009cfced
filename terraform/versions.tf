# Terraform and provider versions, pinned exactly so that every apply (a laptop, CI) plans with the
# same provider code. Upgrade deliberately: change the pins, run `terraform init -upgrade`, commit
# the new .terraform.lock.hcl.
#
# State lives in a Cloud Storage bucket created once by hand (docs/deployment.md):
#   terraform init -backend-config="bucket=<project>-tfstate"
terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "7.31.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "2.7.1"
    }
    random = {
      source  = "hashicorp/random"
      version = "3.7.2"
    }
  }

  backend "gcs" {
    prefix = "ai-photo-detector"
  }
}

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = {
    app         = "ai-photo-detector"
    environment = var.environment
    managed-by  = "terraform"
  }
}
