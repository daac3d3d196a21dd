locals {
  # Peers coturn must never relay to: one list for Terraform and compose (denied-peer-ips.txt).
  reserved_peer_ips = [
    for line in split("\n", file("${path.module}/../../../denied-peer-ips.txt")) :
    trimspace(split("#", line)[0]) if trimspace(split("#", line)[0]) != ""
  ]
  # This host's own addresses, as far as Terraform knows them: a client must not reach the host's
  # other services through its relay. cloud-init adds every address on the host's interfaces at
  # boot (files/deny-host-ips.sh). 0.0.0.0 and :: mean "all interfaces" here, not an address.
  host_ips = distinct([
    for ip in compact([var.network.public_ip, var.network.private_ip, var.network.listening_ip, var.network.relay_ip]) :
    ip if !contains(["0.0.0.0", "::"], ip)
  ])
  denied_peer_ips = concat(local.reserved_peer_ips, local.host_ips, var.peer_deny_ips)

  external_ip = var.network.public_ip == null ? null : (
    var.network.private_ip == null ? var.network.public_ip : "${var.network.public_ip}/${var.network.private_ip}"
  )

  turnserver_conf = templatefile("${path.module}/templates/turnserver.conf.tftpl", {
    realm             = var.realm
    secrets           = var.secrets
    ports             = var.ports
    external_ip       = local.external_ip
    listening_ip      = var.network.listening_ip
    relay_ip          = var.network.relay_ip
    private_ip        = var.network.private_ip
    tls               = var.tls
    limits            = var.limits
    prometheus        = var.prometheus
    reserved_peer_ips = local.reserved_peer_ips
    host_ips          = local.host_ips
    peer_deny_ips     = var.peer_deny_ips
    state_dir         = var.state_dir
  })

  turn_urls = concat(
    ["turn:${var.hostname}:${var.ports.listening}?transport=udp", "turn:${var.hostname}:${var.ports.listening}?transport=tcp"],
    var.tls.enabled ? ["turns:${var.hostname}:${var.ports.tls}?transport=tcp"] : [],
  )

  # Exactly what the firewall opens; cloud wrappers turn these into rules.
  firewall_rules = concat(
    [
      { protocol = "udp", from = var.ports.listening, to = var.ports.listening, description = "TURN/STUN over UDP" },
      { protocol = "tcp", from = var.ports.listening, to = var.ports.listening, description = "TURN/STUN over TCP" },
      { protocol = "udp", from = var.ports.relay_min, to = var.ports.relay_max, description = "TURN relay range (min-port..max-port)" },
    ],
    var.tls.enabled ? [
      { protocol = "tcp", from = var.ports.tls, to = var.ports.tls, description = "TURN over TLS" },
      { protocol = "tcp", from = var.ports.alt_tls, to = var.ports.alt_tls, description = "TURN over TLS (alternate port)" },
      { protocol = "tcp", from = 80, to = 80, description = "ACME HTTP-01 challenges (certbot)" },
    ] : [],
    var.apns_relay.enabled ? [
      { protocol = "tcp", from = var.apns_relay.port, to = var.apns_relay.port, description = "APNs relay for the Worker (HTTPS, apns-relay.tf)" },
    ] : [],
  )

  cloud_init = templatefile("${path.module}/templates/cloud-init.yaml.tftpl", {
    hostname        = var.hostname
    image           = var.coturn_image
    turnserver_conf = local.turnserver_conf
    deny_host_ips   = file("${path.module}/files/deny-host-ips.sh")
    tls             = var.tls
    apns_relay      = local.apns_relay
  })
}
