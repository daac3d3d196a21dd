# The optional APNs relay (docs/APNS-RELAY.md): HAProxy on this host, HTTP/1.1 over TLS from the
# Worker in, HTTP/2 to Apple out, on the host's TURN certificate. Off unless apns_relay.enabled.
# The configuration is turn-infra/apns-relay/haproxy.cfg, the same file compose and the tests run.

variable "apns_relay" {
  description = "The optional APNs relay for the Worker (HAProxy). secret_sha256 is the SHA-256 (hex) of the Worker's APNS_RELAY_SECRET: the secret itself never reaches Terraform or the host. previous_secret_sha256 is also accepted while the Worker moves to a new secret. Needs TLS (it reuses the host's certificate)."
  type = object({
    enabled                = optional(bool, false)
    port                   = optional(number, 8443)
    secret_sha256          = optional(string)
    previous_secret_sha256 = optional(string)
  })
  default = {}
  validation {
    condition     = !var.apns_relay.enabled || can(regex("^[0-9a-f]{64}$", var.apns_relay.secret_sha256))
    error_message = "apns_relay.secret_sha256 must be 64 lowercase hex characters: printf %s \"$APNS_RELAY_SECRET\" | sha256sum."
  }
  validation {
    condition     = var.apns_relay.previous_secret_sha256 == null || can(regex("^[0-9a-f]{64}$", var.apns_relay.previous_secret_sha256))
    error_message = "apns_relay.previous_secret_sha256 must be null or 64 lowercase hex characters."
  }
  validation {
    condition     = var.apns_relay.port >= 1 && var.apns_relay.port <= 65535 && floor(var.apns_relay.port) == var.apns_relay.port
    error_message = "apns_relay.port must be a whole port number in 1-65535."
  }
}

locals {
  apns_relay = var.apns_relay.enabled ? {
    port                   = var.apns_relay.port
    secret_sha256          = var.apns_relay.secret_sha256
    previous_secret_sha256 = var.apns_relay.previous_secret_sha256
    config                 = file("${path.module}/../../../apns-relay/haproxy.cfg")
  } : null
}

output "apns_relay_url" {
  description = "The Worker's APNS_RELAY_URL for this host, or null without the relay."
  value       = var.apns_relay.enabled ? "https://${var.hostname}:${var.apns_relay.port}" : null

  precondition {
    condition     = !var.apns_relay.enabled || var.tls.enabled
    error_message = "apns_relay needs tls.enabled: the relay serves HTTPS on the host's TURN certificate."
  }
  precondition {
    condition = !var.apns_relay.enabled || (
      !contains([22, 80, var.ports.listening, var.ports.tls, var.ports.alt_tls, var.prometheus.port], var.apns_relay.port) &&
      (var.apns_relay.port < var.ports.relay_min || var.apns_relay.port > var.ports.relay_max)
    )
    error_message = "apns_relay.port must differ from SSH, ACME, the TURN and Prometheus ports, and lie outside the relay range."
  }
}
