#!/usr/bin/env bash
# A multi-host run on one machine: the coordinator and each worker in its own Linux network
# namespace ("host"), joined by veth links to a bridge in the coordinator's namespace, talking
# tcp with CURVE over addresses that exist only inside those namespaces (10.77.0.0/24). The
# output must equal a single-process run's bytes. Everything it makes (namespaces, links,
# processes, files) is removed on exit, whatever happens. Needs root (ip netns); skips with a
# message where the kernel or the container refuses namespaces.
#
#   cluster/netns/run-test.sh [WORKERS]        (default 3; ALPHAEDIT=path/to/alphaedit)
set -euo pipefail
source "$(dirname "$0")/../tests/common.sh"
workers=${1:-3}
tag=ae$$                       # unique names: namespaces ${tag}c, ${tag}w0…, links ${tag}v0…
work=$(mktemp -d /tmp/alphaedit-netns.XXXXXX)
pids=()
namespaces=()

cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done   # deletes their links too
  rm -rf "$work"
}
trap cleanup EXIT

[ -x "$ALPHAEDIT" ] || { echo "netns test: $ALPHAEDIT is not built (swift build first)" >&2; exit 1; }
command -v ip >/dev/null || skip "netns test: iproute2 (ip) is not installed"
ip netns add "${tag}probe" 2>/dev/null || skip "netns test: this machine refuses network namespaces (not root, or no CAP_SYS_ADMIN)"
ip netns del "${tag}probe"

# The coordinator's host: a bridge with the coordinator's address.
ip netns add "${tag}c"; namespaces+=("${tag}c")
ip -n "${tag}c" link set lo up
ip -n "${tag}c" link add br0 type bridge
ip -n "${tag}c" addr add 10.77.0.1/24 dev br0
ip -n "${tag}c" link set br0 up
# Each worker's host: one veth link to the bridge, address 10.77.0.(10+i).
for i in $(seq 0 $((workers - 1))); do
  ns="${tag}w$i"
  ip netns add "$ns"; namespaces+=("$ns")
  ip link add "${tag}v$i" type veth peer name "${tag}p$i"
  ip link set "${tag}v$i" netns "${tag}c"
  ip link set "${tag}p$i" netns "$ns"
  ip -n "${tag}c" link set "${tag}v$i" master br0 up
  ip -n "$ns" link set lo up
  ip -n "$ns" link set "${tag}p$i" name eth0
  ip -n "$ns" addr add "10.77.0.$((10 + i))/24" dev eth0
  ip -n "$ns" link set eth0 up
done

make_job "$work"
"$ALPHAEDIT" keys generate coordinator --directory "$work/keys" >/dev/null
names=(); for i in $(seq 0 $((workers - 1))); do names+=("worker-$i"); done
"$ALPHAEDIT" keys generate "${names[@]}" --directory "$work/keys" --authorize "$work/keys/authorized_keys" >/dev/null

mapfile -t single < <(job_args "$work" single)
timeout 300 "$ALPHAEDIT" "${single[@]}" > /dev/null

mapfile -t job < <(job_args "$work" netns)
ip netns exec "${tag}c" timeout 300 "$ALPHAEDIT" "${job[@]}" --listen tcp://10.77.0.1:5555 --min-workers "$workers" \
  --worker-wait 120 --key "$work/keys/coordinator.key" --authorized-keys "$work/keys/authorized_keys" > /dev/null 2> "$work/coordinator.log" &
coordinator=$!; pids+=("$coordinator")
for i in $(seq 0 $((workers - 1))); do
  ip netns exec "${tag}w$i" timeout 300 "$ALPHAEDIT" worker --connect tcp://10.77.0.1:5555 --name "host-$i" --threads 1 \
    --key "$work/keys/worker-$i.key" --coordinator-key "$work/keys/coordinator.pub" \
    --authorized-keys "$work/keys/authorized_keys" 2> "$work/worker-$i.log" &
  pids+=("$!")
done
status=0
wait "$coordinator" || status=$?
if [ $status -ne 0 ]; then
  echo "netns test: the coordinator failed ($status)" >&2
  tail -n 20 "$work"/*.log >&2
  exit 1
fi
if same_output "$work/single" "$work/netns"; then
  echo "netns test: $workers workers in separate network namespaces over CURVE tcp wrote the single-process bytes"
else
  echo "netns test: the outputs differ from the single-process run" >&2
  diff -r "$work/single" "$work/netns" >&2 || true
  exit 1
fi
