#!/usr/bin/env bash
# skiff-init: sets up transparent capture of a pod's TCP traffic for the skiff sidecar, in the
# nat table of the pod's network namespace (run as the pod's init container with NET_ADMIN and
# NET_RAW, or by hand inside any network namespace):
#
#   outbound: the app's connections leave through skiff's outbound capture listener (15001),
#   inbound:  connections to the pod arrive through skiff's inbound capture listener (15006);
#
# skiff reads the original destination with SO_ORIGINAL_DST (docs/traffic-capture.md). The rules
# follow Istio's istio-iptables, so the same loopback cases work the same way:
#   - skiff's own traffic (its uid, or gid) is never captured, so skiff's upstream connections do
#     not loop back into it;
#   - skiff's inbound passthrough connects to the app from 127.0.0.6 (::6), which is let through;
#   - an app calling itself through a service address (loopback, not 127.0.0.1) from skiff goes
#     through skiff's inbound side; the app calling itself directly on loopback is not captured;
#   - anything to 127.0.0.1 (::1) is not captured (sidecar-aware apps, container to container).
#
# Idempotent: everything lives in skiff's own chains (SKIFF_INBOUND, SKIFF_IN_REDIRECT,
# SKIFF_OUTBOUND, SKIFF_REDIRECT), which are flushed and rebuilt in one iptables-restore
# transaction; the jumps from PREROUTING and OUTPUT are added only if missing. Works with
# iptables-nft and iptables-legacy (detected, or --iptables-mode), IPv4 and IPv6.
#
# Needs bash, grep, sed and iptables (plus iproute2's `ip` for IPv6). Exit codes: 0 done,
# 1 applying failed, 2 bad arguments.
set -euo pipefail

readonly CHAIN_INBOUND=SKIFF_INBOUND
readonly CHAIN_IN_REDIRECT=SKIFF_IN_REDIRECT
readonly CHAIN_OUTBOUND=SKIFF_OUTBOUND
readonly CHAIN_REDIRECT=SKIFF_REDIRECT
# iptables' multiport match takes at most 15 ports per rule (a range counts as two).
readonly MULTIPORT_LIMIT=15

proxy_uid=1337
proxy_gid=""
outbound_port=15001
inbound_port=15006
proxy_ports="15000,15021"
inbound_ports="*"
exclude_inbound_ports=""
inbound_cidrs="*"
exclude_inbound_cidrs=""
outbound_ports="*"
exclude_outbound_ports=""
outbound_cidrs="*"
exclude_outbound_cidrs=""
ipv6="auto"
mode="auto"
action="apply"
dry_run=0

usage() {
  cat <<'EOF'
usage: skiff-init [options]

Writes nat-table rules sending the pod's TCP traffic through skiff. Lists are comma-separated;
"*" means all and "" means none. Ports may be ranges (8000:8099). CIDRs may mix IPv4 and IPv6.

  --proxy-uid UID              skiff's user id; its traffic is never captured (1337)
  --proxy-gid GID              skiff's group id, likewise (same as --proxy-uid)
  --outbound-port PORT         skiff's outbound capture listener (15001)
  --inbound-port PORT          skiff's inbound capture listener (15006)
  --proxy-ports LIST           skiff's own ports on the pod (admin, health): never captured
                               inbound (15000,15021)
  --inbound-ports LIST         destination ports captured inbound ("*")
  --exclude-inbound-ports LIST destination ports never captured inbound ("")
  --inbound-cidrs LIST         source ranges captured inbound ("*")
  --exclude-inbound-cidrs LIST source ranges never captured inbound ("")
  --outbound-ports LIST        destination ports captured outbound ("*")
  --exclude-outbound-ports LIST destination ports never captured outbound ("")
  --outbound-cidrs LIST        destination ranges captured outbound ("*")
  --exclude-outbound-cidrs LIST destination ranges never captured outbound ("")
  --ipv6 auto|on|off           also write ip6tables rules (auto: if the kernel has IPv6)
  --iptables-mode auto|nft|legacy
                               which iptables backend (auto: the one already holding skiff's
                               chains, else the one holding any rules, else the system default)
  --dry-run                    print the rules (iptables-restore format) instead of applying them
  --cleanup                    remove skiff's chains and jumps (with --dry-run: print the commands)
  -h, --help                   this text
EOF
}

die_usage() {
  echo "skiff-init: $*" >&2
  echo "run 'skiff-init --help' for the options" >&2
  exit 2
}

log() { echo "skiff-init: $*" >&2; }

# ---------------------------------------------------------------------------------------------
# Arguments.

while [ $# -gt 0 ]; do
  arg="$1"
  shift
  value=""
  has_value=0
  case "$arg" in
    --*=*)
      value="${arg#*=}"
      arg="${arg%%=*}"
      has_value=1
      ;;
  esac
  case "$arg" in
    -h | --help)
      usage
      exit 0
      ;;
    --dry-run) dry_run=1; continue ;;
    --cleanup) action="cleanup"; continue ;;
    --proxy-uid | --proxy-gid | --outbound-port | --inbound-port | --proxy-ports | \
      --inbound-ports | --exclude-inbound-ports | --inbound-cidrs | --exclude-inbound-cidrs | \
      --outbound-ports | --exclude-outbound-ports | --outbound-cidrs | --exclude-outbound-cidrs | \
      --ipv6 | --iptables-mode) ;;
    *) die_usage "unknown option '$arg'" ;;
  esac
  if [ $has_value -eq 0 ]; then
    [ $# -gt 0 ] || die_usage "$arg needs a value"
    value="$1"
    shift
  fi
  case "$arg" in
    --proxy-uid) proxy_uid="$value" ;;
    --proxy-gid) proxy_gid="$value" ;;
    --outbound-port) outbound_port="$value" ;;
    --inbound-port) inbound_port="$value" ;;
    --proxy-ports) proxy_ports="$value" ;;
    --inbound-ports) inbound_ports="$value" ;;
    --exclude-inbound-ports) exclude_inbound_ports="$value" ;;
    --inbound-cidrs) inbound_cidrs="$value" ;;
    --exclude-inbound-cidrs) exclude_inbound_cidrs="$value" ;;
    --outbound-ports) outbound_ports="$value" ;;
    --exclude-outbound-ports) exclude_outbound_ports="$value" ;;
    --outbound-cidrs) outbound_cidrs="$value" ;;
    --exclude-outbound-cidrs) exclude_outbound_cidrs="$value" ;;
    --ipv6) ipv6="$value" ;;
    --iptables-mode) mode="$value" ;;
  esac
done
[ -n "$proxy_gid" ] || proxy_gid="$proxy_uid"

# ---------------------------------------------------------------------------------------------
# Validation. Lists are normalised to space-separated words.

is_uint() { [[ "$1" =~ ^[0-9]+$ ]] && [ "${#1}" -le 10 ]; }

check_id() {  # name value
  is_uint "$2" || die_usage "$1 must be a number, got '$2'"
}

check_port() {  # name value
  if ! is_uint "$2" || [ "$2" -lt 1 ] || [ "$2" -gt 65535 ]; then
    die_usage "$1: '$2' is not a port (1-65535)"
  fi
}

# Prints the ports of a list, one word each ("*" stays "*"); dies on a bad entry.
port_list() {  # name value
  local name="$1" value="$2" entry
  if [ "$value" = "*" ]; then
    echo "*"
    return
  fi
  local out=()
  IFS=',' read -r -a entries <<<"$value"
  for entry in "${entries[@]}"; do
    entry="${entry// /}"
    [ -n "$entry" ] || continue
    if [[ "$entry" =~ ^([0-9]+):([0-9]+)$ ]]; then
      local low="${BASH_REMATCH[1]}" high="${BASH_REMATCH[2]}"
      check_port "$name" "$low"
      check_port "$name" "$high"
      [ "$low" -le "$high" ] || die_usage "$name: '$entry' is not a range"
    else
      check_port "$name" "$entry"
    fi
    out+=("$entry")
  done
  echo "${out[*]:-}"
}

is_ipv4_cidr() {
  local addr="${1%/*}" len="" octet
  [[ "$1" == */* ]] && len="${1#*/}"
  [[ "$addr" =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || return 1
  local octets=("${BASH_REMATCH[@]:1}")
  for octet in "${octets[@]}"; do
    [ "$octet" -le 255 ] || return 1
  done
  [ -z "$len" ] || { [[ "$len" =~ ^[0-9]{1,2}$ ]] && [ "$len" -le 32 ]; }
}

is_ipv6_cidr() {
  local addr="${1%/*}" len=""
  [[ "$1" == */* ]] && len="${1#*/}"
  [[ "$addr" == *:* && "$addr" =~ ^[0-9a-fA-F:.]+$ ]] || return 1
  [ -z "$len" ] || { [[ "$len" =~ ^[0-9]{1,3}$ ]] && [ "$len" -le 128 ]; }
}

# Prints the ranges of a list that belong to `family` (4 or 6); "*" stays "*".
cidr_list() {  # name value family
  local name="$1" value="$2" family="$3" entry
  if [ "$value" = "*" ]; then
    echo "*"
    return
  fi
  local out=()
  IFS=',' read -r -a entries <<<"$value"
  for entry in "${entries[@]}"; do
    entry="${entry// /}"
    [ -n "$entry" ] || continue
    if is_ipv4_cidr "$entry"; then
      [ "$family" = 4 ] && out+=("$entry")
    elif is_ipv6_cidr "$entry"; then
      [ "$family" = 6 ] && out+=("$entry")
    else
      die_usage "$name: '$entry' is not an IPv4 or IPv6 address or CIDR"
    fi
  done
  echo "${out[*]:-}"
}

check_id --proxy-uid "$proxy_uid"
check_id --proxy-gid "$proxy_gid"
check_port --outbound-port "$outbound_port"
check_port --inbound-port "$inbound_port"
[ "$proxy_ports" != "*" ] || die_usage "--proxy-ports must list ports"
for list in exclude_inbound_ports exclude_outbound_ports; do
  [ "${!list}" != "*" ] || die_usage "--${list//_/-}: '*' would exclude everything; use '' for \
the ports to capture instead"
done
for list in exclude_inbound_cidrs exclude_outbound_cidrs; do
  [ "${!list}" != "*" ] || die_usage "--${list//_/-}: '*' is not allowed here"
done
# Validate every list once, whatever the family (cidr_list dies on a bad entry).
port_list --proxy-ports "$proxy_ports" >/dev/null
port_list --inbound-ports "$inbound_ports" >/dev/null
port_list --exclude-inbound-ports "$exclude_inbound_ports" >/dev/null
port_list --outbound-ports "$outbound_ports" >/dev/null
port_list --exclude-outbound-ports "$exclude_outbound_ports" >/dev/null
for list in inbound_cidrs exclude_inbound_cidrs outbound_cidrs exclude_outbound_cidrs; do
  cidr_list "--${list//_/-}" "${!list}" 4 >/dev/null
done
case "$ipv6" in
  auto | on | off) ;;
  true | yes) ipv6="on" ;;
  false | no) ipv6="off" ;;
  *) die_usage "--ipv6 must be auto, on or off" ;;
esac
case "$mode" in
  auto | nft | legacy) ;;
  *) die_usage "--iptables-mode must be auto, nft or legacy" ;;
esac

if [ "$ipv6" = "auto" ]; then
  if [ -e /proc/net/if_inet6 ]; then ipv6="on"; else ipv6="off"; fi
fi

# ---------------------------------------------------------------------------------------------
# Rule generation (pure: depends on the options only).

# Splits port words into multiport groups of at most MULTIPORT_LIMIT (ranges count twice),
# one comma-separated group per line.
multiport_groups() {
  local group="" weight=0 port w
  for port in "$@"; do
    w=1
    [[ "$port" == *:* ]] && w=2
    if [ $((weight + w)) -gt $MULTIPORT_LIMIT ]; then
      echo "$group"
      group=""
      weight=0
    fi
    group="${group:+$group,}$port"
    weight=$((weight + w))
  done
  [ -z "$group" ] || echo "$group"
}

# Rules sending matching connections to `target`: one per (range x port group). `address_flag`
# is -s (inbound: who connects) or -d (outbound: where to).
capture_rules() {  # chain target address_flag "cidrs" "ports"
  local chain="$1" target="$2" flag="$3" cidrs="$4" ports="$5" cidr group
  local cidr_words=("") port_groups=("")
  if [ "$cidrs" != "*" ]; then
    read -r -a cidr_words <<<"$cidrs"
  fi
  if [ "$ports" != "*" ]; then
    # shellcheck disable=SC2086
    mapfile -t port_groups < <(multiport_groups $ports)
  fi
  for cidr in "${cidr_words[@]}"; do
    for group in "${port_groups[@]}"; do
      local rule="-A $chain"
      [ -z "$cidr" ] || rule+=" $flag $cidr"
      [ -z "$group" ] || rule+=" -p tcp -m multiport --dports $group"
      echo "$rule -j $target"
    done
  done
}

# RETURN rules for excluded ports and ranges.
exclude_rules() {  # chain address_flag "cidrs" "ports"
  local chain="$1" flag="$2" cidrs="$3" ports="$4" cidr group
  if [ -n "$ports" ]; then
    # shellcheck disable=SC2086
    while read -r group; do
      echo "-A $chain -p tcp -m multiport --dports $group -j RETURN"
    done < <(multiport_groups $ports)
  fi
  for cidr in $cidrs; do
    echo "-A $chain $flag $cidr -j RETURN"
  done
}

# Whether a direction captures anything for a family: a non-empty port list and a range list that
# is "*" or has entries of that family.
captures() {  # "ports" "cidrs"
  [ -n "$1" ] && [ -n "$2" ]
}

# The whole nat table for one family, in iptables-restore format. With jumps=0 the PREROUTING and
# OUTPUT jumps are left out (they already exist).
generate() {  # family jump_in jump_out
  local family="$1" jump_in="$2" jump_out="$3"
  local localhost="127.0.0.1/32" passthrough_source="127.0.0.6/32"
  if [ "$family" = 6 ]; then
    localhost="::1/128"
    passthrough_source="::6/128"
  fi
  local in_ports in_cidrs out_ports out_cidrs
  in_ports="$(port_list --inbound-ports "$inbound_ports")"
  in_cidrs="$(cidr_list --inbound-cidrs "$inbound_cidrs" "$family")"
  out_ports="$(port_list --outbound-ports "$outbound_ports")"
  out_cidrs="$(cidr_list --outbound-cidrs "$outbound_cidrs" "$family")"

  echo "*nat"
  echo ":$CHAIN_INBOUND - [0:0]"
  echo ":$CHAIN_IN_REDIRECT - [0:0]"
  echo ":$CHAIN_OUTBOUND - [0:0]"
  echo ":$CHAIN_REDIRECT - [0:0]"
  echo "-A $CHAIN_REDIRECT -p tcp -j REDIRECT --to-ports $outbound_port"
  echo "-A $CHAIN_IN_REDIRECT -p tcp -j REDIRECT --to-ports $inbound_port"

  if captures "$in_ports" "$in_cidrs"; then
    exclude_rules "$CHAIN_INBOUND" -s "$(cidr_list x "$exclude_inbound_cidrs" "$family")" \
      "$(port_list x "$proxy_ports") $(port_list x "$exclude_inbound_ports")"
    capture_rules "$CHAIN_INBOUND" "$CHAIN_IN_REDIRECT" -s "$in_cidrs" "$in_ports"
  fi

  if captures "$out_ports" "$out_cidrs"; then
    # skiff's inbound passthrough reaches the app from this address: let it through.
    echo "-A $CHAIN_OUTBOUND -o lo -s $passthrough_source -j RETURN"
    local id owner
    for owner in uid gid; do
      if [ "$owner" = uid ]; then id="$proxy_uid"; else id="$proxy_gid"; fi
      if captures "$in_ports" "$in_cidrs"; then
        # skiff calling the pod's own address (an app reaching itself through a service): through
        # skiff's inbound side, like any inbound connection.
        echo "-A $CHAIN_OUTBOUND -o lo ! -d $localhost -m owner --$owner-owner $id" \
          "-j $CHAIN_IN_REDIRECT"
      fi
      # The app calling itself on loopback directly: not captured.
      echo "-A $CHAIN_OUTBOUND -o lo -m owner ! --$owner-owner $id -j RETURN"
      # skiff's own connections: never captured (no loops).
      echo "-A $CHAIN_OUTBOUND -m owner --$owner-owner $id -j RETURN"
    done
    echo "-A $CHAIN_OUTBOUND -d $localhost -j RETURN"
    exclude_rules "$CHAIN_OUTBOUND" -d "$(cidr_list x "$exclude_outbound_cidrs" "$family")" \
      "$(port_list x "$exclude_outbound_ports")"
    capture_rules "$CHAIN_OUTBOUND" "$CHAIN_REDIRECT" -d "$out_cidrs" "$out_ports"
  fi

  if [ "$jump_in" = 1 ] && captures "$in_ports" "$in_cidrs"; then
    echo "-A PREROUTING -p tcp -j $CHAIN_INBOUND"
  fi
  if [ "$jump_out" = 1 ] && captures "$out_ports" "$out_cidrs"; then
    echo "-A OUTPUT -p tcp -j $CHAIN_OUTBOUND"
  fi
  echo "COMMIT"
}

wants_jump() {  # family in|out -> 0 if that direction captures for the family
  local family="$1" direction="$2"
  if [ "$direction" = in ]; then
    captures "$(port_list x "$inbound_ports")" "$(cidr_list x "$inbound_cidrs" "$family")"
  else
    captures "$(port_list x "$outbound_ports")" "$(cidr_list x "$outbound_cidrs" "$family")"
  fi
}

families() {
  echo 4
  [ "$ipv6" = "off" ] || echo 6
}

# ---------------------------------------------------------------------------------------------
# Dry run.

if [ $dry_run -eq 1 ]; then
  if [ "$action" = "cleanup" ]; then
    for family in $(families); do
      ipt="iptables"
      [ "$family" = 6 ] && ipt="ip6tables"
      echo "# IPv$family"
      echo "$ipt -t nat -D PREROUTING -p tcp -j $CHAIN_INBOUND"
      echo "$ipt -t nat -D OUTPUT -p tcp -j $CHAIN_OUTBOUND"
      for chain in $CHAIN_INBOUND $CHAIN_IN_REDIRECT $CHAIN_OUTBOUND $CHAIN_REDIRECT; do
        echo "$ipt -t nat -F $chain"
        echo "$ipt -t nat -X $chain"
      done
      [ "$family" = 4 ] || echo "ip -6 addr del ::6/128 dev lo"
    done
    exit 0
  fi
  for family in $(families); do
    if [ "$family" = 4 ]; then
      echo "# IPv4: iptables-restore --noflush"
    else
      echo "# IPv6: ip6tables-restore --noflush (and: ip -6 addr add ::6/128 dev lo)"
    fi
    generate "$family" 1 1
  done
  exit 0
fi

# ---------------------------------------------------------------------------------------------
# Applying.

have() { command -v "$1" >/dev/null 2>&1; }
# `producer | has PATTERN`: whether the producer's output has a line matching PATTERN. Not
# `grep -q`: it exits at the first match, the producer's next write then dies of SIGPIPE, and
# under pipefail that makes the whole test false, depending on timing (the cleanup then left ::6
# on lo, and the backend detection could pick the wrong iptables). Plain grep reads to the end.
has() { grep -e "$1" >/dev/null; }

# Which backend: the one holding skiff's chains already, else the one holding any rules (the
# host's choice), else what `iptables` is.
detect_mode() {
  [ "$mode" = "auto" ] || return 0
  local m
  for m in nft legacy; do
    if have "iptables-$m-save" && "iptables-$m-save" -t nat 2>/dev/null | has "^:SKIFF_"; then
      mode="$m"
      return 0
    fi
  done
  for m in nft legacy; do
    if have "iptables-$m-save" && "iptables-$m-save" 2>/dev/null | has '^-A '; then
      mode="$m"
      return 0
    fi
  done
  if have iptables; then
    case "$(iptables --version 2>/dev/null)" in
      *nf_tables*) mode="nft" ;;
      *legacy*) mode="legacy" ;;
      *) mode="plain" ;;
    esac
  elif have iptables-nft; then
    mode="nft"
  elif have iptables-legacy; then
    mode="legacy"
  else
    log "no iptables found (install iptables)"
    exit 1
  fi
}

# Sets ipt, restore and save for a family and the detected mode.
tools_for() {  # family
  local prefix="iptables"
  [ "$1" = 6 ] && prefix="ip6tables"
  if [ "$mode" = "plain" ]; then
    ipt="$prefix"
    restore="$prefix-restore"
    save="$prefix-save"
  else
    ipt="$prefix-$mode"
    restore="$prefix-$mode-restore"
    save="$prefix-$mode-save"
  fi
  if ! have "$ipt" || ! have "$restore"; then
    log "$ipt or $restore not found"
    return 1
  fi
}

# How many times `hook` jumps to `chain`.
jump_count() {  # hook chain
  "$ipt" -w -t nat -S "$1" 2>/dev/null | grep -c -- "-A $1 -p tcp -j $2\$" || true
}

delete_jumps() {  # hook chain
  while "$ipt" -w -t nat -D "$1" -p tcp -j "$2" 2>/dev/null; do :; done
}

apply_family() {  # family
  local family="$1"
  tools_for "$family" || return 1
  # Jumps are added only where missing (and removed where no longer wanted, or duplicated), so a
  # second run changes nothing and capture never lapses while the chains are rebuilt.
  local jump_in=0 jump_out=0 count
  count="$(jump_count PREROUTING $CHAIN_INBOUND)"
  if wants_jump "$family" in; then
    [ "$count" -eq 1 ] || { delete_jumps PREROUTING $CHAIN_INBOUND; jump_in=1; }
  else
    delete_jumps PREROUTING $CHAIN_INBOUND
  fi
  count="$(jump_count OUTPUT $CHAIN_OUTBOUND)"
  if wants_jump "$family" out; then
    [ "$count" -eq 1 ] || { delete_jumps OUTPUT $CHAIN_OUTBOUND; jump_out=1; }
  else
    delete_jumps OUTPUT $CHAIN_OUTBOUND
  fi
  if [ "$family" = 6 ]; then
    # The source of skiff's IPv6 inbound passthrough must exist on lo to be bound.
    if ! ip -6 addr show dev lo 2>/dev/null | has ' ::6/128'; then
      ip -6 addr add ::6/128 dev lo || log "warning: cannot add ::6/128 to lo"
    fi
  fi
  generate "$family" "$jump_in" "$jump_out" | "$restore" -w --noflush
  log "IPv$family rules applied with $restore:"
  "$save" -t nat 2>/dev/null | grep -- "SKIFF_" >&2 || true
}

cleanup_family() {  # family
  local family="$1" chain
  tools_for "$family" || return 0
  delete_jumps PREROUTING $CHAIN_INBOUND
  delete_jumps OUTPUT $CHAIN_OUTBOUND
  for chain in $CHAIN_INBOUND $CHAIN_IN_REDIRECT $CHAIN_OUTBOUND $CHAIN_REDIRECT; do
    "$ipt" -w -t nat -F "$chain" 2>/dev/null || true
  done
  for chain in $CHAIN_INBOUND $CHAIN_IN_REDIRECT $CHAIN_OUTBOUND $CHAIN_REDIRECT; do
    "$ipt" -w -t nat -X "$chain" 2>/dev/null || true
  done
  if [ "$family" = 6 ] && ip -6 addr show dev lo 2>/dev/null | has ' ::6/128'; then
    ip -6 addr del ::6/128 dev lo 2>/dev/null || true
  fi
  log "IPv$family: skiff's rules removed ($ipt)"
}

detect_mode
for family in $(families); do
  if [ "$action" = "cleanup" ]; then
    cleanup_family "$family"
  elif ! apply_family "$family"; then
    log "failed to apply the IPv$family rules"
    exit 1
  fi
done
