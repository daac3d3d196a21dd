variable "region" {
  description = "Region name as it appears in TURN_POOLS (lowercase letters, digits, dashes)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,31}$", var.region))
    error_message = "region must be 1-32 lowercase letters, digits or dashes, starting with a letter or digit (the Worker's TURN_POOLS rule)."
  }
}

variable "location" {
  description = "Where the hosts are, for the Worker's nearest-region choice."
  type        = object({ latitude = number, longitude = number })
  validation {
    condition     = abs(var.location.latitude) <= 90 && abs(var.location.longitude) <= 180
    error_message = "location must be a latitude in [-90, 90] and a longitude in [-180, 180]."
  }
}

variable "continents" {
  description = "Cloudflare continent codes this region serves when a caller's coordinates are unknown."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for c in var.continents : contains(["AF", "AN", "AS", "EU", "NA", "OC", "SA"], c)])
    error_message = "continents are Cloudflare continent codes: AF, AN, AS, EU, NA, OC, SA."
  }
}

variable "hostname" {
  description = "DNS name clients use for this host (TURN URLs, TLS certificate)."
  type        = string
  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$|^[0-9.]+$", var.hostname))
    error_message = "hostname must be a lowercase DNS name (turn-eu1.example.com) or an IPv4 address."
  }
}

variable "realm" {
  description = "TURN realm (shown to clients in 401 challenges)."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9.-]{1,128}$", var.realm))
    error_message = "realm must be 1-128 letters, digits, dots or dashes."
  }
}

variable "secrets" {
  description = "TURN REST API secrets, current first, exactly as the Worker's TURN_SECRETS. Hex only: coturn strips quotes and whitespace."
  type        = list(string)
  sensitive   = true
  validation {
    condition     = length(var.secrets) >= 1 && length(var.secrets) <= 4 && alltrue([for s in var.secrets : can(regex("^[0-9a-f]{32,128}$", s))])
    error_message = "secrets must be 1-4 lowercase hex strings of 32-128 characters (openssl rand -hex 32)."
  }
}

variable "ports" {
  description = "Listening ports and the relay range. The firewall opens exactly these."
  type = object({
    listening = optional(number, 3478)
    tls       = optional(number, 443)
    alt_tls   = optional(number, 5349)
    relay_min = optional(number, 49152)
    relay_max = optional(number, 65535)
  })
  default = {}
  validation {
    condition = alltrue([
      for p in [var.ports.listening, var.ports.tls, var.ports.alt_tls] : p >= 1 && p <= 65535 && floor(p) == p
    ])
    error_message = "listening, tls and alt_tls must be whole port numbers in 1-65535."
  }
  validation {
    condition     = var.ports.relay_min >= 1024 && var.ports.relay_max <= 65535 && var.ports.relay_min < var.ports.relay_max
    error_message = "the relay range must satisfy 1024 <= relay_min < relay_max <= 65535."
  }
  validation {
    condition = alltrue([
      for p in [var.ports.listening, var.ports.tls, var.ports.alt_tls] : p < var.ports.relay_min || p > var.ports.relay_max
    ])
    error_message = "listening and TLS ports must lie outside the relay range."
  }
}

variable "network" {
  description = "Addresses. On a 1:1 NAT (AWS, GCP) set public_ip and private_ip: coturn gets external-ip=PUBLIC/PRIVATE. Where the public IP is on the NIC (Hetzner), leave private_ip null."
  type = object({
    public_ip    = optional(string)
    private_ip   = optional(string)
    listening_ip = optional(string)
    relay_ip     = optional(string)
  })
  default = {}
  validation {
    # Dotted quads only: these become external-ip and denied-peer-ip lines, and coturn reads
    # anything else (1.2.3, 010.0.0.1, a name) through getaddrinfo, not as the address meant.
    condition = alltrue([
      for ip in compact([var.network.public_ip, var.network.private_ip, var.network.listening_ip, var.network.relay_ip]) :
      can(regex("^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$", ip))
    ])
    error_message = "addresses must be IPv4 addresses in dotted-quad form (203.0.113.10)."
  }
}

variable "tls" {
  description = "TLS on the tls/alt_tls ports with an ACME certificate (certbot in cloud-init). Disable only for tests."
  type = object({
    enabled    = optional(bool, true)
    acme_email = optional(string)
    cert_path  = optional(string, "/etc/coturn/certs/fullchain.pem")
    key_path   = optional(string, "/etc/coturn/certs/privkey.pem")
  })
  default = {}
  validation {
    condition     = !var.tls.enabled || can(regex("^[^@\\s]+@[^@\\s]+$", var.tls.acme_email))
    error_message = "tls.acme_email (for the ACME account) is required when TLS is enabled."
  }
}

variable "limits" {
  description = "Abuse limits: allocations per user id and in total, bandwidth per session and for the host."
  type = object({
    user_quota   = optional(number, 12)
    total_quota  = optional(number, 1200)
    max_bps      = optional(number, 3000000)
    bps_capacity = optional(number, 0)
    stale_nonce  = optional(number, 600)
  })
  default = {}
  validation {
    condition     = var.limits.user_quota >= 1 && var.limits.total_quota >= var.limits.user_quota && var.limits.max_bps >= 0 && var.limits.stale_nonce >= 60
    error_message = "limits need user_quota >= 1, total_quota >= user_quota, max_bps >= 0 and stale_nonce >= 60."
  }
}

variable "prometheus" {
  description = "coturn's Prometheus exporter, bound to the private address only (port 9641). Needs a coturn built with Prometheus (the upstream image is)."
  type = object({
    enabled = optional(bool, true)
    port    = optional(number, 9641)
  })
  default = {}
}

variable "coturn_image" {
  description = "The upstream coturn image, pinned. 4.17 or later: Debian 12's 4.6.1 is affected by CVE-2026-27624 (IPv4-mapped IPv6 peers bypass denied-peer-ip)."
  type        = string
  default     = "coturn/coturn:4.17.0"
  validation {
    condition     = can(regex("^coturn/coturn:(4\\.(1[7-9]|[2-9][0-9]|[1-9][0-9]{2,})|([5-9]|[1-9][0-9]+)\\.[0-9]+)\\.[0-9]+", var.coturn_image))
    error_message = "coturn_image must be a pinned upstream coturn/coturn tag, 4.17.0 or later (e.g. 4.17.0, 5.0.0; not latest)."
  }
}

variable "peer_deny_ips" {
  description = "The other TURN pools' public addresses, refused as peers so no client hops from one of our relays to another; anything else to refuse too (e.g. your own public ranges). IPv4 or IPv6 addresses, or first-last ranges of one family."
  type        = list(string)
  default     = []
  validation {
    # Each entry becomes a denied-peer-ip line: only addresses and ranges coturn parses as such.
    # coturn resolves anything else as a host name, or ignores it with a log line (a CIDR too).
    # The unspecified "::" is refused: coturn 4.6.1 reads it as a wildcard that denies every peer.
    condition = alltrue([
      for entry in var.peer_deny_ips : length(split("-", entry)) <= 2 && length(distinct([for ip in split("-", entry) : strcontains(ip, ":")])) == 1 && alltrue([
        for ip in split("-", entry) :
        can(regex("^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$", ip)) || (
          strcontains(ip, ":") && can(regex("^[0-9A-Fa-f:]*(:((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]))?$", ip)) && try(cidrhost("${ip}/128", 0) != "::", false)
        )
      ])
    ])
    error_message = "peer_deny_ips entries must be IPv4 or IPv6 addresses (203.0.113.10, 2001:db8::1) or first-last ranges of one family (203.0.113.0-203.0.113.255); no CIDR, names or \"::\"."
  }
}

variable "state_dir" {
  description = "Where coturn keeps its (unused, but required) user database and pid file."
  type        = string
  default     = "/var/lib/coturn"
}
