#!/usr/bin/env bash
# Encodes the text-format responses here into xds_response fuzz inputs in
# test/fuzz/corpus/xds_response/ (control byte + 2-byte length + response bytes; sequences of
# two responses for the multi-response seeds). Run from the repository root.
set -euo pipefail
seeds=test/fuzz/seeds/xds_response
out=test/fuzz/corpus/xds_response
PROTOS=(
  api/envoy/service/discovery/v3/discovery.proto
  api/envoy/config/listener/v3/listener.proto
  api/envoy/config/cluster/v3/cluster.proto
  api/envoy/config/endpoint/v3/endpoint.proto
  api/envoy/config/route/v3/route.proto
  api/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto
  api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto
  api/envoy/extensions/filters/http/router/v3/router.proto
)
encode() {  # message-type file
  protoc -Iapi -I/usr/include --encode="$1" "${PROTOS[@]}" <"$seeds/$2"
}
# control byte, then one length-prefixed response per file
emit() {  # name control type file...
  local name="$1" control="$2" type="$3"
  shift 3
  {
    printf "\\x$(printf %02x "$control")"
    for file in "$@"; do
      local tmp
      tmp=$(mktemp)
      encode "$type" "$file" >"$tmp"
      local n
      n=$(stat -c %s "$tmp")
      printf "\\x$(printf %02x $((n >> 8)))\\x$(printf %02x $((n & 255)))"
      cat "$tmp"
      rm -f "$tmp"
    done
  } >"$out/$name"
}
SOTW=envoy.service.discovery.v3.DiscoveryResponse
DELTA=envoy.service.discovery.v3.DeltaDiscoveryResponse
emit lds 0 $SOTW lds_tcp_and_http.txtpb
emit lds_then_same_then_invalid 0 $SOTW lds_tcp_and_http.txtpb lds_tcp_and_http.txtpb lds_invalid.txtpb
emit cds 1 $SOTW cds_static_and_eds.txtpb
emit cds_twice 1 $SOTW cds_static_and_eds.txtpb cds_static_and_eds.txtpb
emit eds 2 $SOTW eds.txtpb
emit rds 3 $SOTW rds.txtpb
emit delta_cds 5 $DELTA delta_cds.txtpb
emit delta_cds_twice 5 $DELTA delta_cds.txtpb delta_cds.txtpb
emit lds_invalid 0 $SOTW lds_invalid.txtpb
