#!/bin/sh
# Appends a denied-peer-ip line for every global address of this host's interfaces to
# turnserver.conf, before coturn starts (cloud-init runcmd): a TURN client must not reach the
# host's own services through its relay. Terraform renders the addresses it knows (the static
# public IP, the private one); this adds what only the host knows, such as an IPv6 address the
# provider assigned. Loopback and link-local are denied by denied-peer-ips.txt already.
#   coturn-deny-host-ips /etc/coturn/turnserver.conf     (idempotent; needs iproute2's `ip`)
set -eu
conf=$1
listing=$(ip -o addr show scope global)
# The lines go on lines of their own even if the file lacks a final newline.
[ -z "$(tail -c 1 "$conf")" ] || echo >>"$conf"
echo "$listing" | while read -r _ _ _ address _; do
  address=${address%/*}
  # Only what an address can hold reaches coturn's configuration.
  case "$address" in '' | *[!0-9A-Fa-f:.]*) continue ;; esac
  grep -qxF "denied-peer-ip=$address" "$conf" || echo "denied-peer-ip=$address" >>"$conf"
done
