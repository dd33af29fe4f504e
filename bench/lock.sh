#!/usr/bin/env bash
# Side by side: one uncontended whole-process lock cycle of letterbox against
# liblockfile's dotlockfile, on the same mailbox, in one run.
#
#   letterbox lock M -- true                   (dot-lock + OFD fcntl lock, verify, refresh timer, release)
#   dotlockfile -l M.lock; dotlockfile -u M.lock
#
# Reps are interleaved so both see the same machine noise; the median of the
# reps is reported, with the ratio letterbox / dotlockfile (goal: <= 1.5).
#
# Then contention: the same cycle in 1, 2 and 4 concurrent loops on one
# mailbox, as cycles per second. A lock that hands over well gets faster with
# more loops (the machine has idle CPU while one process holds the lock);
# dotlockfile sleeps 5 s after a collision, so it gets slower.
#
# usage: bench/lock.sh [-n CYCLES] [-r REPS] [LETTERBOX]
set -euo pipefail
n=500 reps=5
while getopts n:r: o; do
  case $o in n) n=$OPTARG ;; r) reps=$OPTARG ;; *) exit 64 ;; esac
done
shift $((OPTIND - 1))
lb=${1:-}
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "$lb" ]; then
  lb=$work/letterbox
  (cd "$top" && go build -o "$lb" ./cmd/letterbox)
fi
command -v dotlockfile >/dev/null || { echo "dotlockfile not installed (Debian: liblockfile-bin)" >&2; exit 69; }
m=$work/M
: >"$m"

run_lb() { local i; for ((i = 0; i < n; i++)); do "$lb" lock "$m" -- true; done; }
run_dl() { local i; for ((i = 0; i < n; i++)); do dotlockfile -l "$m.lock"; dotlockfile -u "$m.lock"; done; }
run_true() { local i; for ((i = 0; i < n; i++)); do true; /bin/true; done; }

# per-cycle microseconds of one rep of $1
time_us() {
  local t0=$EPOCHREALTIME
  "$1"
  local t1=$EPOCHREALTIME
  echo $(( (${t1/./} - ${t0/./}) / n ))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

lbs=() dls=()
run_lb; run_dl # warm up caches
for ((r = 0; r < reps; r++)); do
  lbs+=("$(time_us run_lb)")
  dls+=("$(time_us run_dl)")
done
[ ! -e "$m.lock" ] || { echo "lock left behind" >&2; exit 1; }
lbm=$(printf '%s\n' "${lbs[@]}" | median)
dlm=$(printf '%s\n' "${dls[@]}" | median)
exm=$(time_us run_true)
printf 'cycles per rep: %d, reps: %d (median reported)\n' "$n" "$reps"
printf '%-48s %8d us/cycle   reps: %s\n' "letterbox lock M -- true" "$lbm" "${lbs[*]}"
printf '%-48s %8d us/cycle   reps: %s\n' "dotlockfile -l M.lock; dotlockfile -u M.lock" "$dlm" "${dls[*]}"
printf '%-48s %8d us/cycle   (bash fork+exec of /bin/true, for scale)\n' "/bin/true" "$exm"
awk -v a="$lbm" -v b="$dlm" 'BEGIN { printf "ratio letterbox/dotlockfile: %.2f (goal <= 1.50)\n", a / b }'

# streams TOTAL K CMD...: run TOTAL cycles of CMD split over K concurrent
# loops; print cycles per second.
streams() {
  local total=$1 k=$2 i s
  shift 2
  local t0=$EPOCHREALTIME
  for ((s = 0; s < k; s++)); do
    (for ((i = 0; i < total / k; i++)); do "$@" || echo "cycle failed" >&2; done) &
  done
  wait
  local t1=$EPOCHREALTIME
  echo $((total * 1000000 / (${t1/./} - ${t0/./})))
}
dl_cycle() { dotlockfile -l "$m.lock" && dotlockfile -u "$m.lock"; }
echo
echo "contention: cycles/s with 1, 2, 4 concurrent loops on one mailbox"
printf '%-28s %8s %8s %8s\n' "" 1 2 4
printf '%-28s %8d %8d %8d\n' "letterbox lock M -- true" \
  "$(streams "$n" 1 "$lb" lock "$m" -- true)" "$(streams "$n" 2 "$lb" lock "$m" -- true)" "$(streams "$n" 4 "$lb" lock "$m" -- true)"
dn=$((n / 5))
printf '%-28s %8d %8d %8d   (%d cycles: each collision sleeps 5 s)\n' "dotlockfile -l; -u" \
  "$(streams "$dn" 1 dl_cycle)" "$(streams "$dn" 2 dl_cycle)" "$(streams "$dn" 4 dl_cycle)" "$dn"
[ ! -e "$m.lock" ] || { echo "lock left behind" >&2; exit 1; }
