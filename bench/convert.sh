#!/usr/bin/env bash
# Side by side: mbox -> Maildir conversion of one generated mbox (1 GiB by
# default) by letterbox convert, mb2md (Debian package mb2md) and a Python
# mailbox converter. Prints each one's time, throughput and peak RSS
# (/usr/bin/time), and the ratio of each peer's time to letterbox's
# (goals: at least 10x faster than mb2md, peak RSS under 64 MiB).
#
# letterbox runs twice: as installed (fsync on: a syncfs every 256 MiB
# and at the end, and --verify, which reads both sides again), and with
# fsync = false and --verify=false, which is what the peers do (neither
# syncs nor checks anything).
#
# usage: bench/convert.sh [-s MIB] [LETTERBOX]
# Needs: mb2md, python3, GNU time (Debian packages mb2md, python3, time).
size=1024
while getopts s: o; do
  case $o in s) size=$OPTARG ;; *) exit 64 ;; esac
done
shift $((OPTIND - 1))
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
for p in mb2md python3 /usr/bin/time; do
  command -v "$p" >/dev/null || { echo "missing $p (Debian: mb2md, python3, time)" >&2; exit 69; }
done
work=$(mktemp -d /var/tmp/lbconvert.XXXXXX)
trap 'rm -rf "$work"' EXIT
lb=${1:-}
if [ -z "$lb" ]; then
  lb=$work/letterbox
  (cd "$top" && go build -o "$lb" ./cmd/letterbox)
fi
printf 'log = "none"\n' >"$work/sync.toml"
printf 'log = "none"\nfsync = false\n' >"$work/nosync.toml"

# The mbox: messages of 2-20 KB as in bench/lib.sh, a third of them read,
# some answered, 1% of body lines quoted From_ lines. Deterministic.
awk -v limit=$((size << 20)) 'BEGIN {
  srand(20261122)
  line = substr("the quick brown fox jumps over the lazy dog, again and again and again.", 1, 71)
  for (i = 0; total < limit; i++) {
    m = sprintf("From sender%d@example.org  Sun Nov 22 %02d:%02d:%02d 2026\nSubject: message %d\nMessage-ID: <%d@bench>\n", i % 1000, (i / 3600) % 24, (i / 60) % 60, i % 60, i, i)
    if (i % 3 == 0) m = m "Status: RO\n"
    if (i % 7 == 0) m = m "X-Status: A\n"
    m = m "\n"
    size = 2000 + int(rand() * 18000)
    for (w = 0; w < size; w += 72) m = m (rand() < 0.01 ? ">From the middle of the body" : line) "\n"
    m = m "\n"
    printf "%s", m
    total += length(m)
  }
}' >"$work/src.mbox"
n=$(grep -c '^From ' "$work/src.mbox")
echo "source: $(du -h "$work/src.mbox" | cut -f1)B mbox, $n messages"

cat >"$work/py_convert.py" <<'EOF'
import mailbox, sys
src = mailbox.mbox(sys.argv[1], create=False)
dst = mailbox.Maildir(sys.argv[2], create=True)
for msg in src:
    dst.add(mailbox.MaildirMessage(msg))
EOF

# run NAME COMMAND...: runs it into $work/out/NAME, records seconds and
# peak RSS, and checks the message count. Outputs stay until the end:
# removing 100,000 files makes ext4 slow to create the next ones.
declare -A secs rss
run() {
  local name=$1 out=$work/out/$1
  shift
  mkdir -p "$work/out"
  sync
  /usr/bin/time -f '%e %M' -o "$work/time.$name" "$@"
  read -r secs[$name] rss[$name] <"$work/time.$name"
  local got
  got=$(find "$out" -type f \( -path '*/new/*' -o -path '*/cur/*' \) | wc -l)
  [ "$got" = "$n" ] || { echo "$name: $got messages in the Maildir, want $n" >&2; exit 1; }
}
cat "$work/src.mbox" >/dev/null # the same warm page cache for everyone
run letterbox "$lb" convert -c "$work/sync.toml" "$work/src.mbox" "$work/out/letterbox/"
run letterbox-nosync "$lb" convert -c "$work/nosync.toml" --verify=false "$work/src.mbox" "$work/out/letterbox-nosync/"
mkdir -p "$work/out/mb2md"
run mb2md sh -c 'exec mb2md -s "$0" -d "$1" >/dev/null' "$work/src.mbox" "$work/out/mb2md"
run python python3 "$work/py_convert.py" "$work/src.mbox" "$work/out/python"

mib=$(( $(stat -c %s "$work/src.mbox") >> 20 ))
printf '%-18s %9s %9s %12s\n' converter seconds MiB/s "peak RSS"
for p in letterbox letterbox-nosync mb2md python; do
  awk -v p="$p" -v s="${secs[$p]}" -v r="${rss[$p]}" -v m="$mib" \
    'BEGIN { printf "%-18s %9.2f %9.1f %8.1f MiB\n", p, s, m / s, r / 1024 }'
done
for p in mb2md python; do
  for l in letterbox letterbox-nosync; do
    awk -v p="$p" -v l="$l" -v a="${secs[$p]}" -v b="${secs[$l]}" \
      'BEGIN { printf "  %s time / %s time: %.1fx\n", p, l, a / b }'
  done
done
echo "  (goals: mb2md / letterbox >= 10x; letterbox peak RSS < 64 MiB)"
