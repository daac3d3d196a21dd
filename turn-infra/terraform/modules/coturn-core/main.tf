locals {
  # Peers coturn must never relay to: TURN as a proxy into private networks and cloud metadata
  # (169.254.169.254), loopback bypasses (CVE-2020-26262: 0.0.0.0, ::) and IPv4-mapped IPv6
  # bypasses (CVE-2026-27624: ::ffff:a.b.c.d). Ranges, since coturn takes "first-last".
  denied_peer_ips = concat([
    "0.0.0.0-0.255.255.255",                             # "this network", incl. 0.0.0.0 (CVE-2020-26262)
    "10.0.0.0-10.255.255.255",                           # RFC 1918
    "100.64.0.0-100.127.255.255",                        # carrier-grade NAT (RFC 6598)
    "127.0.0.0-127.255.255.255",                         # loopback
    "169.254.0.0-169.254.255.255",                       # link-local, cloud metadata
    "172.16.0.0-172.31.255.255",                         # RFC 1918
    "192.0.0.0-192.0.0.255",                             # IETF protocol assignments
    "192.0.2.0-192.0.2.255",                             # TEST-NET-1
    "192.88.99.0-192.88.99.255",                         # 6to4 relay anycast
    "192.168.0.0-192.168.255.255",                       # RFC 1918
    "198.18.0.0-198.19.255.255",                         # benchmarking
    "198.51.100.0-198.51.100.255",                       # TEST-NET-2
    "203.0.113.0-203.0.113.255",                         # TEST-NET-3
    "224.0.0.0-239.255.255.255",                         # multicast
    "240.0.0.0-255.255.255.255",                         # reserved, broadcast
    "::-::1",                                            # unspecified and loopback (CVE-2020-26262)
    "::ffff:0.0.0.0-::ffff:255.255.255.255",             # IPv4-mapped (CVE-2026-27624)
    "64:ff9b::-64:ff9b::ffff:ffff",                      # NAT64 well-known prefix
    "64:ff9b:1::-64:ff9b:1:ffff:ffff:ffff:ffff:ffff",    # local-use NAT64
    "100::-100::ffff:ffff:ffff:ffff",                    # discard-only
    "2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", # documentation
    "2002::-2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff",    # 6to4 (embeds IPv4)
    "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",    # unique local
    "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",    # link-local
    "ff00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",    # multicast
  ], var.extra_denied_peer_ips)

  external_ip = var.network.public_ip == null ? null : (
    var.network.private_ip == null ? var.network.public_ip : "${var.network.public_ip}/${var.network.private_ip}"
  )

  turnserver_conf = templatefile("${path.module}/templates/turnserver.conf.tftpl", {
    realm           = var.realm
    secrets         = var.secrets
    ports           = var.ports
    external_ip     = local.external_ip
    listening_ip    = var.network.listening_ip
    relay_ip        = var.network.relay_ip
    private_ip      = var.network.private_ip
    tls             = var.tls
    limits          = var.limits
    prometheus      = var.prometheus
    denied_peer_ips = local.denied_peer_ips
    state_dir       = var.state_dir
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
  )

  cloud_init = templatefile("${path.module}/templates/cloud-init.yaml.tftpl", {
    hostname        = var.hostname
    image           = var.coturn_image
    turnserver_conf = local.turnserver_conf
    tls             = var.tls
  })
}
