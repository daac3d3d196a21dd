# coturn in two AWS regions: one aws-region module per region, each with its provider.
#   cp terraform.tfvars.example terraform.tfvars && $EDITOR terraform.tfvars
#   export AWS_PROFILE=...  TF_VAR_turn_secrets='["<hex>"]'
#   terraform init && terraform apply
#   terraform output -raw turn_pools | npx wrangler secret put TURN_POOLS
terraform {
  required_version = ">= 1.6.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }
}

provider "aws" {
  alias  = "eu"
  region = "eu-central-1"
}

provider "aws" {
  alias  = "us"
  region = "us-east-1"
}

variable "turn_secrets" {
  type      = list(string)
  sensitive = true
}

variable "realm" {
  type = string
}

variable "acme_email" {
  type = string
}

variable "route53_zone_id" {
  type    = string
  default = null
}

variable "eu_subnet_id" {
  type = string
}

variable "us_subnet_id" {
  type = string
}

variable "admin_cidrs" {
  type    = list(string)
  default = []
}

module "eu" {
  source          = "../../modules/aws-region"
  providers       = { aws = aws.eu }
  region          = "eu-central"
  location        = { latitude = 50.11, longitude = 8.68 }
  continents      = ["EU", "AF"]
  hostname        = "turn-eu1.example.com"
  realm           = var.realm
  secrets         = var.turn_secrets
  acme_email      = var.acme_email
  subnet_id       = var.eu_subnet_id
  admin_cidrs     = var.admin_cidrs
  route53_zone_id = var.route53_zone_id
  # The other region's Elastic IP: no hops from one of our relays to another. No cycle: an
  # Elastic IP is created before, and independently of, the instances.
  peer_deny_ips = [module.us.public_ip]
  apns_relay    = var.apns_relay
}

module "us" {
  source          = "../../modules/aws-region"
  providers       = { aws = aws.us }
  region          = "us-east"
  location        = { latitude = 39.04, longitude = -77.49 }
  continents      = ["NA", "SA"]
  hostname        = "turn-use1.example.com"
  realm           = var.realm
  secrets         = var.turn_secrets
  acme_email      = var.acme_email
  subnet_id       = var.us_subnet_id
  admin_cidrs     = var.admin_cidrs
  route53_zone_id = var.route53_zone_id
  peer_deny_ips   = [module.eu.public_ip]
  apns_relay      = var.apns_relay
}

output "turn_pools" {
  description = "The Worker's TURN_POOLS, nearest-first choice happens in the Worker."
  value       = jsonencode([module.eu.pool, module.us.pool])
}

output "dns_records" {
  description = "A records (hostname => Elastic IP); created in Route53 when route53_zone_id is set, otherwise create them right away."
  value       = merge(module.eu.dns_records, module.us.dns_records)
}
