# coturn hosts on Hetzner Cloud, one per region: a static primary IPv4 (on the NIC, so no
# external-ip mapping), a firewall opening exactly the core module's rules, and a server booted
# with the core module's cloud-init. The primary IPs exist before any server, so each region's
# configuration can refuse every other region's address as a peer without a dependency cycle.
terraform {
  required_version = ">= 1.6.0"
  required_providers {
    hcloud = {
      source  = "hetznercloud/hcloud"
      version = "~> 1.49"
    }
  }
}

variable "regions" {
  description = "One entry per TURN region. location is a Hetzner location (fsn1, nbg1, hel1, ash, hil, sin)."
  type = map(object({
    location    = string
    latitude    = number
    longitude   = number
    continents  = optional(list(string), [])
    hostname    = string
    server_type = optional(string, "cpx21")
  }))
}

variable "realm" {
  type = string
}

variable "secrets" {
  description = "The Worker's TURN_SECRETS as a list, current first."
  type        = list(string)
  sensitive   = true
}

variable "acme_email" {
  type = string
}

variable "ssh_key_ids" {
  description = "Hetzner SSH key ids for the admin user."
  type        = list(string)
  default     = []
}

variable "admin_cidrs" {
  description = "Addresses allowed to SSH in. Empty: SSH closed."
  type        = list(string)
  default     = []
}

variable "coturn_image" {
  type    = string
  default = "coturn/coturn:4.17.0"
}

variable "image" {
  description = "Server OS image."
  type        = string
  default     = "ubuntu-24.04"
}

variable "peer_deny_ips" {
  description = "More peers every region refuses, e.g. TURN pools outside this module (addresses or first-last ranges). The regions of this module refuse each other already."
  type        = list(string)
  default     = []
}

resource "hcloud_primary_ip" "turn" {
  for_each      = var.regions
  name          = "turn-${each.key}"
  type          = "ipv4"
  assignee_type = "server"
  location      = each.value.location
  auto_delete   = false
}

module "core" {
  source     = "../coturn-core"
  for_each   = var.regions
  region     = each.key
  location   = { latitude = each.value.latitude, longitude = each.value.longitude }
  continents = each.value.continents
  hostname   = each.value.hostname
  realm      = var.realm
  secrets    = var.secrets
  network    = { public_ip = hcloud_primary_ip.turn[each.key].ip_address }
  tls        = { acme_email = var.acme_email }
  # Hetzner servers have no private address unless attached to a network: no exporter here.
  prometheus   = { enabled = false }
  coturn_image = var.coturn_image
  # Every other region's address: no hops from one of our relays to another.
  peer_deny_ips = concat([for key, ip in hcloud_primary_ip.turn : ip.ip_address if key != each.key], var.peer_deny_ips)
  apns_relay    = var.apns_relay
}

resource "hcloud_firewall" "turn" {
  for_each = var.regions
  name     = "turn-${each.key}"

  dynamic "rule" {
    for_each = module.core[each.key].firewall_rules
    content {
      direction   = "in"
      protocol    = rule.value.protocol
      port        = rule.value.from == rule.value.to ? tostring(rule.value.from) : "${rule.value.from}-${rule.value.to}"
      source_ips  = ["0.0.0.0/0"]
      description = rule.value.description
    }
  }

  dynamic "rule" {
    for_each = length(var.admin_cidrs) > 0 ? [1] : []
    content {
      direction   = "in"
      protocol    = "tcp"
      port        = "22"
      source_ips  = var.admin_cidrs
      description = "SSH from admins"
    }
  }
}

resource "hcloud_server" "turn" {
  for_each     = var.regions
  name         = "turn-${each.key}"
  server_type  = each.value.server_type
  image        = var.image
  location     = each.value.location
  ssh_keys     = var.ssh_key_ids
  firewall_ids = [hcloud_firewall.turn[each.key].id]
  user_data    = module.core[each.key].cloud_init

  public_net {
    ipv4_enabled = true
    ipv4         = hcloud_primary_ip.turn[each.key].id
    ipv6_enabled = false
  }
}

output "turn_pools" {
  description = "The Worker's TURN_POOLS: `terraform output -raw turn_pools | npx wrangler secret put TURN_POOLS`."
  value       = jsonencode([for key in sort(keys(var.regions)) : module.core[key].pool])
}

output "public_ips" {
  description = "Each region's public address (region => IP), e.g. for the peer_deny_ips of TURN pools elsewhere."
  value       = { for key, ip in hcloud_primary_ip.turn : key => ip.ip_address }
}

output "dns_records" {
  description = "A records to create before the servers finish booting (certbot retries for 30 minutes)."
  value       = { for key, region in var.regions : region.hostname => hcloud_primary_ip.turn[key].ip_address }
}
