output "turnserver_conf" {
  description = "The rendered turnserver.conf (holds the secrets)."
  value       = local.turnserver_conf
  sensitive   = true
}

output "cloud_init" {
  description = "cloud-init user data that installs Docker and certbot, writes the config and runs the pinned coturn image with host networking (holds the secrets)."
  value       = local.cloud_init
  sensitive   = true
}

output "turn_urls" {
  description = "The host's TURN URLs, in the Worker's order: UDP, TCP, TLS."
  value       = local.turn_urls
}

output "pool" {
  description = "This region's entry of the Worker's TURN_POOLS."
  value = {
    region     = var.region
    location   = var.location
    continents = var.continents
    urls       = local.turn_urls
  }
}

output "firewall_rules" {
  description = "Inbound rules the host needs, nothing more."
  value       = local.firewall_rules
}

output "denied_peer_ips" {
  description = "Peers coturn refuses to relay to: denied-peer-ips.txt, this host's known addresses, then peer_deny_ips (cloud-init adds the host's other interface addresses at boot)."
  value       = local.denied_peer_ips
}
