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
  [ -z "${TURN_EXTERNAL_IP:-}" ] || echo "external-ip=$TURN_EXTERNAL_IP"
  echo "listening-port=$port"
  echo "min-port=$relay_min"
  echo "max-port=$relay_max"
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
  sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' -e 's/^/denied-peer-ip=/' "$denied_file"
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
