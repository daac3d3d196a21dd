# Offline tests of the optional APNs relay (apns-relay.tf): what cloud-init gets, what the firewall
# opens, and what is refused (`terraform test`, no provider).

variables {
  region   = "eu-central"
  location = { latitude = 50.11, longitude = 8.68 }
  hostname = "turn-eu1.example.com"
  realm    = "turn.example.com"
  secrets  = ["0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"]
  tls      = { acme_email = "ops@example.com" }
}

run "off_by_default" {
  command = plan

  assert {
    condition     = output.apns_relay_url == null && !strcontains(output.cloud_init, "haproxy") && length(output.firewall_rules) == 6
    error_message = "without apns_relay there is no HAProxy, no relay port and no relay URL"
  }
}

run "renders_the_relay" {
  command = plan
  variables {
    apns_relay = { enabled = true, secret_sha256 = "9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca7" }
  }

  assert {
    condition     = output.apns_relay_url == "https://turn-eu1.example.com:8443"
    error_message = "the Worker's APNS_RELAY_URL is https on the host's name and the relay port"
  }
  assert {
    condition     = contains([for r in output.firewall_rules : "${r.protocol}:${r.from}-${r.to}"], "tcp:8443-8443") && length(output.firewall_rules) == 7
    error_message = "the firewall opens the relay port, and nothing else more"
  }
  assert {
    condition = alltrue([for line in [
      "  - haproxy\n",
      "APNS_RELAY_SECRET_SHA256=9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca7\n",
      "APNS_RELAY_BIND=:8443\n",
      "CONFIG=/etc/haproxy/apns-relay.cfg\n",
      "EnvironmentFile=/etc/haproxy/apns-relay.env\n",
      "cat /etc/letsencrypt/live/turn-eu1.example.com/fullchain.pem /etc/letsencrypt/live/turn-eu1.example.com/privkey.pem > /etc/haproxy/certs/apns-relay.pem.new\n",
      "  - systemctl restart haproxy\n",
    ] : strcontains(output.cloud_init, line)])
    error_message = "cloud-init installs haproxy with the relay's environment and the TURN certificate, and starts it"
  }
  assert {
    # The repository's haproxy.cfg, verbatim (indented into the YAML block).
    condition     = strcontains(output.cloud_init, "      backend apns_production\n") && strcontains(output.cloud_init, "alpn h2 resolvers system") && strcontains(output.cloud_init, "\"$${APNS_RELAY_SECRET_SHA256}\"")
    error_message = "cloud-init carries turn-infra/apns-relay/haproxy.cfg"
  }
}

run "accepts_the_previous_secret_during_a_rotation" {
  command = plan
  variables {
    apns_relay = {
      enabled                = true
      secret_sha256          = "9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca7"
      previous_secret_sha256 = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
    }
  }
  assert {
    condition     = strcontains(output.cloud_init, "APNS_RELAY_SECRET_SHA256=9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca7\n      APNS_RELAY_PREVIOUS_SECRET_SHA256=2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae\n")
    error_message = "the previous secret's hash reaches the relay's environment"
  }
}

run "refuses_a_secret_instead_of_its_hash" {
  command = plan
  variables {
    apns_relay = { enabled = true, secret_sha256 = "0123456789abcdef0123456789abcdef" }
  }
  expect_failures = [var.apns_relay]
}

run "refuses_the_relay_without_tls" {
  command = plan
  variables {
    tls        = { enabled = false }
    apns_relay = { enabled = true, secret_sha256 = "9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca7" }
  }
  expect_failures = [output.apns_relay_url]
}

run "refuses_a_port_coturn_uses" {
  command = plan
  variables {
    apns_relay = { enabled = true, port = 443, secret_sha256 = "9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca7" }
  }
  expect_failures = [output.apns_relay_url]
}
