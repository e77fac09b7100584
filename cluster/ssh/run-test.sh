#!/usr/bin/env bash
# The ssh hostfile launcher, run with a stand-in for ssh that runs the remote command on this
# host (there is no second host here): it parses a hostfile with slots, starts that many
# workers, and the job must write the single-process bytes. A bad hostfile must be refused.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/common.sh"
work=$(mktemp -d /tmp/alphaedit-ssh.XXXXXX)
trap 'rm -rf "$work"' EXIT
[ -x "$ALPHAEDIT" ] || { echo "ssh test: $ALPHAEDIT is not built (swift build first)" >&2; exit 1; }
# ssh HOST COMMAND → run COMMAND here, recording the host.
cat > "$work/fake-ssh" <<FAKE
#!/usr/bin/env bash
echo "\$1" >> "$work/hosts-contacted"
shift
exec bash -c "\$*"
FAKE
chmod +x "$work/fake-ssh"
printf '# two hosts\nlocalhost slots=2\n127.0.0.1   # one slot\n' > "$work/hosts"
make_job "$work"
mapfile -t single < <(job_args "$work" single)
timeout 300 "$ALPHAEDIT" "${single[@]}" > /dev/null
mapfile -t job < <(job_args "$work" ssh)
port=$(( 30000 + $$ % 20000 ))
HOME="$work" timeout 300 "$here/alphaedit-ssh" --hostfile "$work/hosts" --ssh "$work/fake-ssh" --coordinator-host 127.0.0.1 \
  --port "$port" --threads 1 --alphaedit "$ALPHAEDIT" -- "${job[@]}" > /dev/null
[ "$(sort "$work/hosts-contacted" | uniq -c | awk '{print $2 "=" $1}' | paste -sd ' ')" = "127.0.0.1=1 localhost=2" ] \
  || { echo "ssh test: contacted $(cat "$work/hosts-contacted" | paste -sd ' '), expected localhost twice and 127.0.0.1 once" >&2; exit 1; }
[ -z "$(ls -A "$work/.alphaedit-keys" 2>/dev/null)" ] || { echo "ssh test: the job's keys were left behind" >&2; exit 1; }
same_output "$work/single" "$work/ssh" || { echo "ssh test: the outputs differ from the single-process run" >&2; exit 1; }
printf 'localhost slots=two\n' > "$work/bad-hosts"
if out=$("$here/alphaedit-ssh" --hostfile "$work/bad-hosts" --alphaedit "$ALPHAEDIT" -- edit 2>&1); then
  echo "ssh test: a bad hostfile was accepted" >&2; exit 1
fi
grep -q "line 1: slots must be a positive number" <<< "$out" || { echo "ssh test: unexpected error: $out" >&2; exit 1; }
echo "ssh test: 3 workers from a hostfile (localhost slots=2, 127.0.0.1) wrote the single-process bytes"
