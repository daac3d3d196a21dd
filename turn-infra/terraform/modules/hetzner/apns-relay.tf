# The optional APNs relay on every region's host (coturn-core's apns-relay.tf).
variable "apns_relay" {
  description = "Optional APNs relay on the TURN host(s), docs/APNS-RELAY.md: { enabled = true, secret_sha256 = <SHA-256 hex of the Worker's APNS_RELAY_SECRET> }."
  type = object({
    enabled                = optional(bool, false)
    port                   = optional(number, 8443)
    secret_sha256          = optional(string)
    previous_secret_sha256 = optional(string)
  })
  default = {}
}

output "apns_relay_urls" {
  description = "Region => the Worker's APNS_RELAY_URL for that host (empty without the relay)."
  value       = { for key, core in module.core : key => core.apns_relay_url if core.apns_relay_url != null }
}
