# Two or more coturn regions on Hetzner Cloud.
#   cp terraform.tfvars.example terraform.tfvars && $EDITOR terraform.tfvars
#   export HCLOUD_TOKEN=...  TF_VAR_turn_secrets='["<hex>"]'
#   terraform init && terraform apply
#   terraform output -raw turn_pools | npx wrangler secret put TURN_POOLS
terraform {
  required_version = ">= 1.6.0"
  required_providers {
    hcloud = {
      source  = "hetznercloud/hcloud"
      version = "~> 1.49"
    }
  }
}

provider "hcloud" {}

variable "turn_secrets" {
  description = "Same as the Worker's TURN_SECRETS, as a list (current first). Pass via TF_VAR_turn_secrets, never in a file."
  type        = list(string)
  sensitive   = true
}

variable "realm" {
  type = string
}

variable "acme_email" {
  type = string
}

variable "regions" {
  type = map(object({
    location    = string
    latitude    = number
    longitude   = number
    continents  = optional(list(string), [])
    hostname    = string
    server_type = optional(string, "cpx21")
  }))
}

variable "ssh_key_ids" {
  type    = list(string)
  default = []
}

variable "admin_cidrs" {
  type    = list(string)
  default = []
}

module "turn" {
  source      = "../../modules/hetzner"
  regions     = var.regions
  realm       = var.realm
  secrets     = var.turn_secrets
  acme_email  = var.acme_email
  ssh_key_ids = var.ssh_key_ids
  admin_cidrs = var.admin_cidrs
  apns_relay  = var.apns_relay
}

output "turn_pools" {
  value = module.turn.turn_pools
}

output "dns_records" {
  value = module.turn.dns_records
}
