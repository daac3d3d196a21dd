# The optional APNs relay on this region's host (coturn-core's apns-relay.tf).
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

output "apns_relay_url" {
  description = "The Worker's APNS_RELAY_URL for this host (null without the relay)."
  value       = module.core.apns_relay_url
}
