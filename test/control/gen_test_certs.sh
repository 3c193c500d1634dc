#!/usr/bin/env bash
# Writes throwaway certificates for the TLS tests into DIR (valid for 2 days, EC P-256):
#   ca.pem/ca.key              the CA that signs everything below
#   server.pem/server.key      CN=skiff-control, SAN DNS:localhost, IP:127.0.0.1
#   client.pem/client.key      CN=sidecar-1, SAN DNS:sidecar-1 (a client certificate)
#   rogue-ca.pem, rogue.pem/rogue.key   a client certificate from another CA
# Needs the openssl CLI (tools/setup installs it).
set -euo pipefail
dir="${1:?usage: gen_test_certs.sh DIR}"
mkdir -p "$dir"
cd "$dir"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() {  # ca NAME CN
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 2 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}

leaf() {  # leaf NAME CA CN SAN EKU
  key "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$3"
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$4" "$5" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -out "$1.pem" \
    -days 2 -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

ca ca "skiff test CA"
leaf server ca skiff-control "DNS:localhost,IP:127.0.0.1" serverAuth
leaf client ca sidecar-1 "DNS:sidecar-1" clientAuth
ca rogue-ca "some other CA"
leaf rogue rogue-ca sidecar-1 "DNS:sidecar-1" clientAuth
