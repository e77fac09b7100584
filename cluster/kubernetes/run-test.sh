#!/usr/bin/env bash
# Offline schema validation of the Kubernetes manifests (and of the Secrets make-secrets.sh
# prints) with kubernetes-validate from PyPI, installed into a private virtual environment.
# A deliberately broken manifest must fail, so the check can fail. Skips with a message when
# PyPI cannot be reached.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/common.sh"
work=$(mktemp -d /tmp/alphaedit-k8s.XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv" >/dev/null 2>&1 || skip "kubernetes test: python3 -m venv is unavailable"
"$work/venv/bin/pip" install -q kubernetes-validate >/dev/null 2>&1 || skip "kubernetes test: kubernetes-validate could not be installed from PyPI"
validate() { "$work/venv/bin/kubernetes-validate" --strict --quiet "$@"; }

validate "$here"/storage.yaml "$here"/secrets.yaml "$here"/coordinator.yaml "$here"/workers.yaml
ALPHAEDIT="$ALPHAEDIT" "$here/make-secrets.sh" > "$work/generated-secrets.yaml"
grep -q "secret-key = " "$work/generated-secrets.yaml"
validate "$work/generated-secrets.yaml"
# The validator rejects what is wrong: replicas as a string, an unknown field.
sed 's/replicas: 3/replicas: "three"/; s/podManagementPolicy: Parallel/podManagementPolicy: Parallel\n  unknownField: 1/' \
  "$here/workers.yaml" > "$work/broken.yaml"
if validate "$work/broken.yaml" >/dev/null 2>&1; then
  echo "kubernetes test: a broken manifest passed validation" >&2
  exit 1
fi
echo "kubernetes test: the manifests and generated Secrets pass kubernetes-validate --strict (a broken copy fails)"
