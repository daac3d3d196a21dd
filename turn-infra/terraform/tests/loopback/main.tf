# The core module with loopback values, for test/node/turn-infra.test.ts: the production
# configuration (denied peers and all), listening on 127.0.0.1 without TLS, so Debian's coturn
# can run it in a test. Never deployed.
variable "secrets" {
  type      = list(string)
  sensitive = true
}

variable "port" {
  type = number
}

variable "relay_min" {
  type = number
}

variable "state_dir" {
  type = string
}

# Stand-ins for this host's public address and the other pools' (permissions only: the test
# never sends anything to them).
variable "public_ip" {
  type = string
}

variable "peer_deny_ips" {
  type = list(string)
}

module "turn" {
  source     = "../../modules/coturn-core"
  region     = "local"
  location   = { latitude = 0, longitude = 0 }
  hostname   = "127.0.0.1"
  realm      = "turn.test"
  secrets    = var.secrets
  ports      = { listening = var.port, relay_min = var.relay_min, relay_max = var.relay_min + 99 }
  network    = { public_ip = var.public_ip, listening_ip = "127.0.0.1", relay_ip = "127.0.0.1" }
  tls        = { enabled = false }
  prometheus = { enabled = false }
  state_dir  = var.state_dir
  # As the Hetzner module does: every other region's address.
  peer_deny_ips = var.peer_deny_ips
}

output "turnserver_conf" {
  value     = module.turn.turnserver_conf
  sensitive = true
}

output "pool" {
  value = module.turn.pool
}
