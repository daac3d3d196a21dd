# Optional: the APNs relay on every TURN host (docs/APNS-RELAY.md). In terraform.tfvars:
#   apns_relay = { enabled = true, secret_sha256 = "<printf %s \"$APNS_RELAY_SECRET\" | sha256sum>" }
# then: npx wrangler secret put APNS_RELAY_URL   (one of the URLs below)
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
  value = module.turn.apns_relay_urls
}
