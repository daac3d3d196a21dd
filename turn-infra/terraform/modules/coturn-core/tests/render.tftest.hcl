# Offline tests of what the core module renders and refuses (`terraform test`, no provider).

variables {
  region     = "eu-central"
  location   = { latitude = 50.11, longitude = 8.68 }
  continents = ["EU", "AF"]
  hostname   = "turn-eu1.example.com"
  realm      = "turn.example.com"
  secrets    = ["0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"]
  tls        = { acme_email = "ops@example.com" }
}

run "renders_production_config" {
  command = plan

  assert {
    condition     = strcontains(output.turnserver_conf, "use-auth-secret\nstatic-auth-secret=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\nstatic-auth-secret=fedcba9876543210fedcba9876543210\n")
    error_message = "every secret becomes a static-auth-secret line, current first"
  }
  assert {
    condition     = alltrue([for line in ["realm=turn.example.com", "fingerprint", "no-cli", "no-multicast-peers", "min-port=49152", "max-port=65535", "listening-port=3478", "tls-listening-port=443", "alt-tls-listening-port=5349", "no-tlsv1", "no-tlsv1_1", "no-dtls", "no-tcp-relay", "user-quota=12", "total-quota=1200", "max-bps=3000000", "stale-nonce=600", "log-file=stdout"] : strcontains(output.turnserver_conf, "\n${line}\n")])
    error_message = "the hardened settings are all present"
  }
  assert {
    condition     = alltrue([for range in ["127.0.0.0-127.255.255.255", "169.254.0.0-169.254.255.255", "10.0.0.0-10.255.255.255", "100.64.0.0-100.127.255.255", "::ffff:0.0.0.0-::ffff:255.255.255.255", "::1", "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "0.0.0.0-0.255.255.255"] : strcontains(output.turnserver_conf, "denied-peer-ip=${range}\n")])
    error_message = "loopback, metadata, private, CGNAT, IPv4-mapped, ULA and link-local peers are denied"
  }
  assert {
    condition     = !strcontains(output.turnserver_conf, "denied-peer-ip=::\n") && !strcontains(output.turnserver_conf, "denied-peer-ip=::-")
    error_message = "'::' must not be listed: coturn 4.6.1 reads it as a wildcard that denies every peer"
  }
  assert {
    condition     = !strcontains(output.turnserver_conf, "allow-loopback-peers") && !strcontains(output.turnserver_conf, "external-ip")
    error_message = "production never allows loopback peers; no external-ip without addresses"
  }
  assert {
    condition     = output.turn_urls == ["turn:turn-eu1.example.com:3478?transport=udp", "turn:turn-eu1.example.com:3478?transport=tcp", "turns:turn-eu1.example.com:443?transport=tcp"]
    error_message = "TURN URLs are UDP, TCP, then TLS on 443"
  }
  assert {
    condition     = output.pool.region == "eu-central" && output.pool.location.latitude == 50.11 && join(",", output.pool.continents) == "EU,AF"
    error_message = "the pool is the Worker's TURN_POOLS entry"
  }
  assert {
    condition     = contains([for r in output.firewall_rules : "${r.protocol}:${r.from}-${r.to}"], "udp:49152-65535") && length(output.firewall_rules) == 6
    error_message = "the firewall opens exactly 3478 udp/tcp, the relay range, 443, 5349 and 80 for ACME"
  }
  assert {
    condition     = strcontains(output.cloud_init, "coturn/coturn:4.17.0 -c /etc/coturn/turnserver.conf") && strcontains(output.cloud_init, "--network host") && strcontains(output.cloud_init, "docker kill --signal USR2 coturn")
    error_message = "cloud-init runs the pinned image with host networking and reloads certificates with SIGUSR2"
  }
  assert {
    condition     = strcontains(output.cloud_init, "  - path: /usr/local/sbin/coturn-deny-host-ips\n    permissions: \"0755\"\n    content: |\n      #!/bin/sh\n") && strcontains(output.cloud_init, "\n      listing=$(ip -o addr show scope global)\n")
    error_message = "cloud-init installs files/deny-host-ips.sh"
  }
  assert {
    condition     = can(regex("(?s)\n  - /usr/local/sbin/coturn-deny-host-ips /etc/coturn/turnserver.conf\n.*\n    docker run -d --name coturn ", output.cloud_init))
    error_message = "the host's interface addresses are denied before coturn starts"
  }
  assert {
    condition     = !strcontains(output.turnserver_conf, "This host's own addresses") && !strcontains(output.turnserver_conf, "The other TURN pools")
    error_message = "without addresses there is nothing of the host's or the other pools' to deny"
  }
}

run "denies_the_hosts_own_addresses_and_the_other_pools" {
  command = plan
  variables {
    network       = { public_ip = "203.0.113.10", private_ip = "172.31.5.20" }
    peer_deny_ips = ["198.51.100.20", "198.51.100.64-198.51.100.127", "2001:db8::20", "2001:db8:1::-2001:db8:1::ffff", "::ffff:192.0.2.1"]
  }
  assert {
    condition     = strcontains(output.turnserver_conf, "\ndenied-peer-ip=203.0.113.10\ndenied-peer-ip=172.31.5.20\n# The other TURN pools (peer_deny_ips): no hops from one of our relays to another.\ndenied-peer-ip=198.51.100.20\ndenied-peer-ip=198.51.100.64-198.51.100.127\ndenied-peer-ip=2001:db8::20\ndenied-peer-ip=2001:db8:1::-2001:db8:1::ffff\ndenied-peer-ip=::ffff:192.0.2.1\n")
    error_message = "the host's public and private addresses, then every other pool's, are denied peers"
  }
  assert {
    condition     = join(",", slice(output.denied_peer_ips, length(output.denied_peer_ips) - 7, length(output.denied_peer_ips))) == "203.0.113.10,172.31.5.20,198.51.100.20,198.51.100.64-198.51.100.127,2001:db8::20,2001:db8:1::-2001:db8:1::ffff,::ffff:192.0.2.1"
    error_message = "the denied_peer_ips output lists them too"
  }
}

run "bind_all_is_not_an_address_to_deny" {
  command = plan
  variables {
    network = { public_ip = "203.0.113.10", listening_ip = "0.0.0.0", relay_ip = "203.0.113.10" }
  }
  assert {
    condition     = !strcontains(output.turnserver_conf, "denied-peer-ip=0.0.0.0\n") && length([for ip in output.denied_peer_ips : ip if ip == "203.0.113.10"]) == 1
    error_message = "0.0.0.0 (all interfaces) is not denied as an address; the host's address is listed once"
  }
}

run "refuses_a_cidr_in_peer_deny_ips" {
  command = plan
  variables {
    peer_deny_ips = ["198.51.100.0/24"]
  }
  expect_failures = [var.peer_deny_ips]
}

run "refuses_a_name_in_peer_deny_ips" {
  command = plan
  variables {
    peer_deny_ips = ["turn-use1.example.com"]
  }
  expect_failures = [var.peer_deny_ips]
}

run "refuses_a_line_injected_through_peer_deny_ips" {
  command = plan
  variables {
    peer_deny_ips = ["198.51.100.20\nallow-loopback-peers"]
  }
  expect_failures = [var.peer_deny_ips]
}

run "refuses_the_unspecified_address_in_peer_deny_ips" {
  command = plan
  variables {
    peer_deny_ips = ["::-::ffff"]
  }
  expect_failures = [var.peer_deny_ips]
}

run "refuses_a_range_mixing_families" {
  command = plan
  variables {
    peer_deny_ips = ["198.51.100.1-2001:db8::1"]
  }
  expect_failures = [var.peer_deny_ips]
}

run "refuses_an_ambiguous_ipv4_form" {
  command = plan
  variables {
    peer_deny_ips = ["198.51.100.020"]
  }
  expect_failures = [var.peer_deny_ips]
}

run "refuses_an_ipv6_network_address" {
  command = plan
  variables {
    network = { public_ip = "::1" }
  }
  expect_failures = [var.network]
}

run "one_to_one_nat_gets_external_ip_and_private_metrics" {
  command = plan
  variables {
    network = { public_ip = "203.0.113.10", private_ip = "172.31.5.20" }
  }
  assert {
    condition     = strcontains(output.turnserver_conf, "\nexternal-ip=203.0.113.10/172.31.5.20\n")
    error_message = "external-ip is PUBLIC/PRIVATE behind 1:1 NAT"
  }
  assert {
    condition     = strcontains(output.turnserver_conf, "\nprometheus\nprometheus-address=172.31.5.20\nprometheus-port=9641\n")
    error_message = "the exporter binds to the private address only"
  }
}

run "public_ip_on_the_nic" {
  command = plan
  variables {
    network = { public_ip = "198.51.100.7" }
  }
  assert {
    condition     = strcontains(output.turnserver_conf, "\nexternal-ip=198.51.100.7\n") && !strcontains(output.turnserver_conf, "prometheus")
    error_message = "without a private address: plain external-ip and no exporter"
  }
}

run "tls_off_for_tests" {
  command = plan
  variables {
    tls = { enabled = false }
  }
  assert {
    condition     = strcontains(output.turnserver_conf, "\nno-tls\n") && !strcontains(output.turnserver_conf, "cert=") && length(output.turn_urls) == 2
    error_message = "no TLS listener, no certificate, no turns: URL"
  }
}

run "refuses_a_secret_coturn_would_mangle" {
  command = plan
  variables {
    secrets = ["\"quoted secret\""]
  }
  expect_failures = [var.secrets]
}

run "refuses_a_short_secret" {
  command = plan
  variables {
    secrets = ["abc123"]
  }
  expect_failures = [var.secrets]
}

run "refuses_a_bad_region" {
  command = plan
  variables {
    region = "EU Central"
  }
  expect_failures = [var.region]
}

run "refuses_an_inverted_relay_range" {
  command = plan
  variables {
    ports = { relay_min = 60000, relay_max = 50000 }
  }
  expect_failures = [var.ports]
}

run "refuses_a_listening_port_inside_the_relay_range" {
  command = plan
  variables {
    ports = { listening = 50000 }
  }
  expect_failures = [var.ports]
}

run "refuses_an_old_coturn" {
  command = plan
  variables {
    coturn_image = "coturn/coturn:4.6.1"
  }
  expect_failures = [var.coturn_image]
}

run "accepts_a_later_major_version" {
  command = plan
  variables {
    coturn_image = "coturn/coturn:5.0.0"
  }
  assert {
    condition     = strcontains(output.cloud_init, "coturn/coturn:5.0.0 -c /etc/coturn/turnserver.conf")
    error_message = "4.17 or later includes the next major version"
  }
}

run "refuses_latest" {
  command = plan
  variables {
    coturn_image = "coturn/coturn:latest"
  }
  expect_failures = [var.coturn_image]
}

run "refuses_tls_without_acme_email" {
  command = plan
  variables {
    tls = { enabled = true }
  }
  expect_failures = [var.tls]
}
