# Shared by the delivery benchmarks: the work directory, the unprivileged
# user every peer runs as, the corpus, and timing helpers. Source it after
# setting n (messages) and reps; it sets work, lb, as, run.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d /var/tmp/lbbench.XXXXXX)
trap 'rm -rf "$work"' EXIT
if [ -z "${lb:-}" ]; then
  lb=$work/letterbox
  (cd "$top" && go build -o "$lb" ./cmd/letterbox)
else
  cp "$lb" "$work/letterbox" && lb=$work/letterbox
fi
# A baseline binary (-B) runs as the peer "baseline".
if [ -n "${baseline:-}" ]; then
  cp "$baseline" "$work/baseline" && baseline=$work/baseline
fi
# As root, everything runs as the user lbbench (dovecot-lda needs -d as
# root, and MTAs run the MDA as the recipient anyway).
as=()
if [ "$(id -u)" = 0 ]; then
  id lbbench >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin lbbench
  usermod -d "$work" lbbench # procmail and maildrop chdir to the passwd home
  as=(setpriv --reuid=lbbench --regid=lbbench --clear-groups --)
fi
run() { HOME=$work "${as[@]}" "$@"; }
own() { [ ${#as[@]} -eq 0 ] || chown -R lbbench "$@"; }

# The corpus: n messages of 2-20 KB, some with body lines that look like
# From_ lines. Deterministic.
mkdir -p "$work/corpus"
awk -v n="$n" -v dir="$work/corpus" 'BEGIN {
  srand(20261122)
  for (i = 0; i < n; i++) {
    f = sprintf("%s/%05d", dir, i)
    printf "Subject: message %d\nMessage-ID: <%d@bench>\nX-Bench-Seq: %d\n\n", i, i, i > f
    size = 2000 + int(rand() * 18000)
    for (w = 0; w < size; w += 72) {
      if (rand() < 0.01) print "From the middle of the body" > f
      else printf "%s\n", substr("the quick brown fox jumps over the lazy dog, again and again and again.", 1, 71) > f
    }
    close(f)
  }
}'
own "$work"

# The defaults of the mbox benchmarks: each peer delivers into
# out/PEER/mbox. A script may define its own after sourcing this.
prepare() {
  rm -rf "$work/out/$1"
  mkdir -p "$work/out/$1"
  own "$work/out"
}
count() { grep -c '^X-Bench-Seq: ' "$work/out/$1/mbox"; }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# bench PEERS...: runs deliver_all PEER (defined by the caller) for each
# peer, reps times interleaved, after prepare PEER; checks count PEER equals
# n; prints the median per-delivery time of each and sets med[PEER].
declare -A med
bench() {
  local peer r t0 t1 got
  declare -A reps_of
  for ((r = 0; r < reps; r++)); do
    for peer in "$@"; do
      prepare "$peer"
      t0=$EPOCHREALTIME
      deliver_all "$peer"
      t1=$EPOCHREALTIME
      got=$(count "$peer")
      [ "$got" = "$n" ] || { echo "$peer: mailbox holds $got messages, want $n" >&2; exit 1; }
      reps_of[$peer]+="$(((${t1/./} - ${t0/./}) / n)) "
    done
  done
  echo "$n messages ($(du -sh "$work/corpus" | cut -f1)), $reps reps interleaved, median per delivery:"
  for peer in "$@"; do
    med[$peer]=$(printf '%s\n' ${reps_of[$peer]} | median)
    printf '  %-12s %7d us   (%5d deliveries/s)   reps: %s\n' "$peer" "${med[$peer]}" $((1000000 / med[$peer])) "${reps_of[$peer]}"
  done
}
