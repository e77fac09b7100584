#!/usr/bin/env bash
# Fresh CURVE keys for a Kubernetes deployment, printed as the three Secrets of secrets.yaml:
#   cluster/kubernetes/make-secrets.sh | kubectl apply -f -
# (ALPHAEDIT=path/to/alphaedit; the keys exist only in the output and then in the cluster.)
set -euo pipefail
bin=${ALPHAEDIT:-alphaedit}
keys=$(mktemp -d)
trap 'rm -rf "$keys"' EXIT
"$bin" keys generate coordinator --directory "$keys" >/dev/null
"$bin" keys generate worker --directory "$keys" --authorize "$keys/authorized_keys" >/dev/null

# secret NAME FILE…: a Secret whose keys are the files' names.
secret() {
  local name=$1; shift
  printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  labels:\n    app.kubernetes.io/name: alphaedit\ntype: Opaque\nstringData:\n' "$name"
  for file in "$@"; do
    printf '  %s: |\n' "$(basename "$file")"
    sed 's/^/    /' "$file"
  done
}
secret alphaedit-coordinator-key "$keys/coordinator.key"
secret alphaedit-worker-key "$keys/worker.key"
secret alphaedit-public-keys "$keys/coordinator.pub" "$keys/authorized_keys"
