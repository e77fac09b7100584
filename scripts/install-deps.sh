#!/usr/bin/env bash
# Installs the Debian packages alphaedit builds against, skipping those already present.
set -euo pipefail
# The build's; with --cluster-tests also the cluster tests' (a real single-node Slurm, network
# namespaces, and a Python virtual environment for kubernetes-validate).
packages=(libopenblas-dev liblapacke-dev libzmq3-dev libprotobuf-c-dev protobuf-c-compiler pkg-config)
if [ "${1:-}" = "--cluster-tests" ]; then
  packages+=(slurm-wlm munge iproute2 python3-venv)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all Debian packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
