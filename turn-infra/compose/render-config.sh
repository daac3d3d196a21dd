#!/bin/sh
# Renders turnserver.conf from the environment (no secret ever lives in a file of the repo),
# with the same hardening as the Terraform core module. Used as the container's entrypoint:
#   sh /etc/coturn/render-config.sh /tmp/turnserver.conf && exec turnserver -c /tmp/turnserver.conf
# Variables: see .env.example. Fails with a message naming the variable on bad input.
set -eu

out=${1:-/tmp/turnserver.conf}
here=$(dirname "$0")
denied_file=${TURN_DENIED_PEER_IPS_FILE:-}
if [ -z "$denied_file" ]; then
  if [ -f "$here/denied-peer-ips.txt" ]; then denied_file="$here/denied-peer-ips.txt"; else denied_file="$here/../denied-peer-ips.txt"; fi
fi

fail() { echo "render-config: $*" >&2; exit 64; }
number() { case "$2" in ''|*[!0-9]*) fail "$1 must be a whole number (got '$2')";; esac; }

# Addresses reach external-ip and denied-peer-ip lines only in the forms coturn parses as
# addresses: it resolves anything else (1.2.3, 010.0.0.1, a name) through getaddrinfo, or
# ignores it (a CIDR) with a log line. ipv4: a dotted quad without leading zeros.
ipv4() {
  case "$1" in ''|*[!0-9.]*|.*|*.|*..*) return 1;; esac
  v4_ifs=$IFS; IFS=.
  set -- $1
  IFS=$v4_ifs
  [ $# -eq 4 ] || return 1
  for v4_octet; do
    case "$v4_octet" in [0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5]) ;; *) return 1;; esac
  done
}
# ipv6: hex groups with at most one '::', optionally ending in a dotted quad (::ffff:192.0.2.1).
# The unspecified '::' is refused: coturn 4.6.1 reads it as a wildcard that denies every peer.
ipv6() {
  v6=$1
  case "$v6" in *:*) ;; *) return 1;; esac
  case "$v6" in *[!0-9A-Fa-f:.]*|*:::*|*::*::*|:[!:]*|*[!:]:) return 1;; esac
  v6_groups=0; v6_zero=yes
  case "$v6" in
    *.*) ipv4 "${v6##*:}" || return 1
      [ "${v6##*:}" = 0.0.0.0 ] || v6_zero=no
      v6="${v6%:*}:0:0";;
  esac
  case "$v6" in *.*) return 1;; esac
  v6_ifs=$IFS; IFS=:
  for v6_group in $v6; do
    [ -n "$v6_group" ] || continue
    [ "${#v6_group}" -le 4 ] || { IFS=$v6_ifs; return 1; }
    case "$v6_group" in *[!0]*) v6_zero=no;; esac
    v6_groups=$((v6_groups + 1))
  done
  IFS=$v6_ifs
  [ "$v6_zero" = no ] || return 1
  case "$v6" in *::*) [ "$v6_groups" -le 7 ];; *) [ "$v6_groups" -eq 8 ];; esac
}
address() { ipv4 "$1" || ipv6 "$1"; }
# An address or a first-last range of one family, as denied-peer-ip takes them.
peer_range() {
  case "$1" in
    *-*-*) return 1;;
    *-*) { ipv4 "${1%-*}" && ipv4 "${1#*-}"; } || { ipv6 "${1%-*}" && ipv6 "${1#*-}"; };;
    *) address "$1";;
  esac
}

# Every address of this host's interfaces (the container shares the host's network): IPv4 from
# the kernel's local routes, IPv6 from if_inet6 with global scope. Loopback and link-local are
# in denied-peer-ips.txt already.
interface_addresses() {
  if [ -r /proc/net/fib_trie ]; then
    fib_previous=
    while read -r fib_first fib_second fib_rest; do
      if [ "$fib_first $fib_second $fib_rest" = "/32 host LOCAL" ]; then
        case "$fib_previous" in 127.*) ;; *) echo "$fib_previous";; esac
      fi
      fib_previous=$fib_second
    done < /proc/net/fib_trie
  fi
  if [ -r /proc/net/if_inet6 ]; then
    while read -r inet6_hex _ _ inet6_scope _; do
      if [ "$inet6_scope" = 00 ]; then echo "$inet6_hex" | sed -e 's/..../&:/g' -e 's/:$//'; fi
    done < /proc/net/if_inet6
  fi
}

[ -n "${TURN_SECRETS:-}" ] || fail "TURN_SECRETS is required: comma-separated hex secrets, current first (openssl rand -hex 32)"
[ -n "${TURN_REALM:-}" ] || fail "TURN_REALM is required (e.g. turn.example.com)"
case "$TURN_REALM" in *[!A-Za-z0-9.-]*) fail "TURN_REALM may hold letters, digits, dots and dashes only";; esac

# The image's tag, when it is a version (compose passes COTURN_IMAGE in): 4.17 or later, the same
# floor as the Terraform core module. latest, digests and other non-version tags are not checked.
image=${COTURN_IMAGE:-}; image=${image%%@*}; tag=${image##*:}
case "$tag" in "$image"|*/*) tag=;; esac
case "$tag" in
  [0-9]*)
    major=${tag%%[!0-9]*}; minor=${tag#"$major"}
    case "$minor" in .[0-9]*) minor=${minor#.}; minor=${minor%%[!0-9]*};; *) minor=;; esac
    [ "$major" -gt 4 ] || { [ "$major" -eq 4 ] && [ -n "$minor" ] && [ "$minor" -ge 17 ]; } ||
      fail "COTURN_IMAGE=$COTURN_IMAGE: pin coturn 4.17.0 or later (e.g. coturn/coturn:4.17.0), the floor the Terraform module enforces"
    ;;
esac

port=${TURN_PORT:-3478}; tls_port=${TURN_TLS_PORT:-443}; alt_tls_port=${TURN_ALT_TLS_PORT:-5349}
relay_min=${TURN_RELAY_MIN:-49152}; relay_max=${TURN_RELAY_MAX:-65535}
for pair in "TURN_PORT $port" "TURN_TLS_PORT $tls_port" "TURN_ALT_TLS_PORT $alt_tls_port" "TURN_RELAY_MIN $relay_min" "TURN_RELAY_MAX $relay_max"; do
  number $pair
done
[ "$relay_min" -ge 1024 ] && [ "$relay_min" -lt "$relay_max" ] && [ "$relay_max" -le 65535 ] ||
  fail "the relay range must satisfy 1024 <= TURN_RELAY_MIN < TURN_RELAY_MAX <= 65535"

user_quota=${TURN_USER_QUOTA:-12}; total_quota=${TURN_TOTAL_QUOTA:-1200}
max_bps=${TURN_MAX_BPS:-3000000}; stale_nonce=${TURN_STALE_NONCE:-600}
for pair in "TURN_USER_QUOTA $user_quota" "TURN_TOTAL_QUOTA $total_quota" "TURN_MAX_BPS $max_bps" "TURN_STALE_NONCE $stale_nonce"; do
  number $pair
done

[ -r "$denied_file" ] || fail "cannot read the denied peer list at $denied_file"

# This host's own addresses, refused as peers: a client must not reach the host's other services
# through its relay. The configured ones, then TURN_HOST_IPS: "auto" (every interface address)
# or a comma-separated list.
for pair in "TURN_LISTENING_IP ${TURN_LISTENING_IP:-}" "TURN_RELAY_IP ${TURN_RELAY_IP:-}"; do
  name=${pair%% *}; value=${pair#* }
  case "$value" in ''|::) ;; *) address "$value" || fail "$name must be an IPv4 or IPv6 address (got '$value')";; esac
done
external=${TURN_EXTERNAL_IP:-}
[ -z "$external" ] || { address "${external%%/*}" && address "${external#*/}"; } ||
  fail "TURN_EXTERNAL_IP must be PUBLIC or PUBLIC/PRIVATE addresses (got '$external')"
host_ips=${TURN_HOST_IPS:-auto}
if [ "$host_ips" = auto ]; then host_ips=$(interface_addresses); fi
host_list=
# Lists split at commas (and at the newlines of interface_addresses), never globbed.
old_ifs=$IFS; IFS=',
'
set -f
for ip in ${external%%/*} ${external#*/} ${TURN_LISTENING_IP:-} ${TURN_RELAY_IP:-} $host_ips; do
  case "$ip" in ''|0.0.0.0|::) continue;; esac
  address "$ip" || fail "TURN_HOST_IPS must be auto or comma-separated IPv4/IPv6 addresses (got '$ip')"
  case " $host_list " in *" $ip "*) ;; *) host_list="$host_list $ip";; esac
done
# The other TURN pools' public addresses: no hops from one of our relays to another.
pool_list=
for range in ${TURN_DENY_PEER_IPS:-}; do
  [ -n "$range" ] || continue
  peer_range "$range" ||
    fail "TURN_DENY_PEER_IPS entries must be IPv4/IPv6 addresses or first-last ranges of one family, comma-separated; no CIDR, names or '::' (got '$range')"
  pool_list="$pool_list $range"
done
set +f
IFS=$old_ifs

umask 077
{
  echo "# Rendered by turn-infra/compose/render-config.sh at container start."
  echo "use-auth-secret"
  old_ifs=$IFS; IFS=,
  for secret in $TURN_SECRETS; do
    case "$secret" in
      ''|*[!0-9a-f]*) fail "TURN_SECRETS entries must be lowercase hex (coturn strips quotes and whitespace)";;
    esac
    [ "${#secret}" -ge 32 ] || fail "TURN_SECRETS entries must be at least 32 hex characters"
    echo "static-auth-secret=$secret"
  done
  IFS=$old_ifs
  echo "realm=$TURN_REALM"
  echo "fingerprint"
  echo "no-cli"
  echo "no-software-attribute"
  [ -z "${TURN_LISTENING_IP:-}" ] || echo "listening-ip=$TURN_LISTENING_IP"
  [ -z "${TURN_RELAY_IP:-}" ] || echo "relay-ip=$TURN_RELAY_IP"
  [ -z "$external" ] || echo "external-ip=$external"
  echo "listening-port=$port"
  echo "min-port=$relay_min"
  echo "max-port=$relay_max"
  echo "# Relays are UDP only. TCP relay allocations (RFC 6062) are not used by WebRTC and would let"
  echo "# a client open TCP connections to any peer through this host; TCP *to* this server stays"
  echo "# (?transport=tcp and turns:, carrying UDP relays)."
  echo "no-tcp-relay"
  if [ "${TURN_TLS:-on}" = "on" ]; then
    echo "tls-listening-port=$tls_port"
    echo "alt-tls-listening-port=$alt_tls_port"
    echo "cert=${TURN_CERT:-/etc/coturn/certs/fullchain.pem}"
    echo "pkey=${TURN_PKEY:-/etc/coturn/certs/privkey.pem}"
    echo "no-tlsv1"
    echo "no-tlsv1_1"
    echo "cipher-list=ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
  else
    echo "no-tls"
  fi
  echo "no-dtls"
  echo "no-multicast-peers"
  echo "user-quota=$user_quota"
  echo "total-quota=$total_quota"
  echo "max-bps=$max_bps"
  echo "stale-nonce=$stale_nonce"
  echo "# Peers never relayed to: private, loopback, metadata and other special ranges."
  sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' -e 's/^/denied-peer-ip=/' "$denied_file"
  if [ -n "$host_list" ]; then
    echo "# This host's own addresses: a client must not reach the host's other services through its relay."
    for ip in $host_list; do echo "denied-peer-ip=$ip"; done
  fi
  if [ -n "$pool_list" ]; then
    echo "# The other TURN pools (TURN_DENY_PEER_IPS): no hops from one of our relays to another."
    for range in $pool_list; do echo "denied-peer-ip=$range"; done
  fi
  if [ -n "${TURN_PROMETHEUS_IP:-}" ]; then
    echo "prometheus"
    echo "prometheus-address=$TURN_PROMETHEUS_IP"
    echo "prometheus-port=${TURN_PROMETHEUS_PORT:-9641}"
  fi
  echo "log-file=stdout"
  echo "simple-log"
  echo "userdb=${TURN_STATE_DIR:-/var/lib/coturn}/turndb"
  echo "pidfile=${TURN_STATE_DIR:-/var/lib/coturn}/turnserver.pid"
} > "$out.tmp"
mv "$out.tmp" "$out"
