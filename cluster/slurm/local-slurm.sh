#!/usr/bin/env bash
# A Slurm on this machine, for the cluster tests: munged, slurmctld and slurmd on localhost with
# a config of our own in a private directory. Needs root and Debian's slurm-wlm and munge.
#
#   cluster/slurm/local-slurm.sh start DIR [NODES]
#       writes DIR/slurm.conf, starts the daemons, waits for the nodes. NODES (default 1) > 1
#       declares nodes n1 … nN, all on this host (one slurmd each, `slurmd -N nK` on its own
#       port, NodeAddr 127.0.0.1), so that a heterogeneous job's components get nodes of their own.
#   cluster/slurm/local-slurm.sh stop DIR    stops the daemons started by `start DIR`, by pid
# Commands then need SLURM_CONF=DIR/slurm.conf.
set -euo pipefail
action=${1:?start or stop}
dir=${2:?a directory for the config, state and logs}
nodes=${3:-1}

stop() {
  for name in slurmd $(for k in $(seq 9); do echo slurmd-n$k; done) slurmctld munged; do
    if [ -f "$dir/$name.pid" ]; then
      pid=$(cat "$dir/$name.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$dir/$name.pid"
    fi
  done
}

if [ "$action" = stop ]; then stop; exit 0; fi
[ "$action" = start ] || { echo "local-slurm: start or stop, not $action" >&2; exit 2; }
for tool in slurmctld slurmd munged sinfo; do
  command -v "$tool" >/dev/null || { echo "local-slurm: $tool not found (apt-get install slurm-wlm munge)" >&2; exit 3; }
done
[ "$(id -u)" -eq 0 ] || { echo "local-slurm: needs root (slurmd runs jobs as their users)" >&2; exit 3; }

mkdir -p "$dir"/{state,spool,munge}
dir=$(cd "$dir" && pwd)
host=$(hostname -s)
cpus=$(nproc)
memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))

# munge: a key and a socket of our own, run as the munge user.
chown munge:munge "$dir/munge"; chmod 700 "$dir/munge"
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1 count=1024 status=none
chown munge:munge "$dir/munge/munge.key"; chmod 400 "$dir/munge/munge.key"
su -s /bin/sh munge -c "munged --key-file='$dir/munge/munge.key' --socket='$dir/munge/munge.socket' \
  --pid-file='$dir/munge/munged.pid' --log-file='$dir/munge/munged.log' --seed-file='$dir/munge/munged.seed' --force"
cp "$dir/munge/munged.pid" "$dir/munged.pid"

cat > "$dir/slurm.conf" <<CONF
ClusterName=alphaedit-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SchedulerParameters=bf_interval=1
CONF
if [ "$nodes" -le 1 ]; then
  cat >> "$dir/slurm.conf" <<CONF
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
else
  # Several slurmd on this host: each its own node name, port, spool, pid and log file (%n).
  sed -i -e "s|^SlurmdSpoolDir=.*|SlurmdSpoolDir=$dir/spool/%n|" -e "s|^SlurmdPidFile=.*|SlurmdPidFile=$dir/slurmd-%n.pid|" \
    -e "s|^SlurmdLogFile=.*|SlurmdLogFile=$dir/slurmd-%n.log|" -e "/^SlurmdPort=/d" "$dir/slurm.conf"
  names=()
  for k in $(seq "$nodes"); do
    names+=("n$k")
    mkdir -p "$dir/spool/n$k"
    echo "NodeName=n$k NodeHostname=$host NodeAddr=127.0.0.1 Port=$((16818 + k)) CPUs=$cpus RealMemory=$((memory / nodes)) State=UNKNOWN" >> "$dir/slurm.conf"
  done
  echo "PartitionName=test Nodes=$(IFS=,; echo "${names[*]}") Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES" >> "$dir/slurm.conf"
fi
export SLURM_CONF="$dir/slurm.conf"
slurmctld -f "$dir/slurm.conf"
if [ "$nodes" -le 1 ]; then
  slurmd -f "$dir/slurm.conf"
else
  for k in $(seq "$nodes"); do slurmd -f "$dir/slurm.conf" -N "n$k"; done
fi
for _ in $(seq 100); do
  up=$(sinfo -h -N -o %T 2>/dev/null | grep -cE '^(idle|mixed|allocated)' || true)
  if [ "$up" -ge "$nodes" ]; then
    echo "local-slurm: $up node(s) up on $host ($cpus CPUs each) with SLURM_CONF=$dir/slurm.conf"
    exit 0
  fi
  sleep 0.2
done
echo "local-slurm: $nodes node(s) did not come up; logs in $dir" >&2
tail -n 20 "$dir"/slurmctld.log "$dir"/slurmd*.log >&2 || true
stop
exit 4
