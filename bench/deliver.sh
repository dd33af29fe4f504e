#!/usr/bin/env bash
# Side by side: the per-delivery cost of letterbox deliver, procmail and
# dovecot-lda delivering the same messages into an mbox, fsync on for all
# (procmail fsyncs the mbox, dovecot-lda fdatasyncs it, letterbox fsyncs it
# and, for a new mailbox, its directory). Then letterbox alone: peak RSS of
# one large message, and the cost of appending to a 2 GiB mbox against an
# empty one.
#
# Each delivery is one process with the message on stdin, as an MTA runs an
# MDA. Reps are interleaved; the median is reported with the ratios.
# Everything runs as an unprivileged user (dovecot-lda needs -d as root, and
# MTAs run the MDA as the recipient anyway); as root the script creates the
# user "lbbench" for that.
#
# usage: bench/deliver.sh [-n MESSAGES] [-r REPS] [-b BIG_MIB] [LETTERBOX]
# Needs: procmail, dovecot-core, time (Debian packages).
set -euo pipefail
n=1000 reps=3 big=1024
while getopts n:r:b: o; do
  case $o in n) n=$OPTARG ;; r) reps=$OPTARG ;; b) big=$OPTARG ;; *) exit 64 ;; esac
done
shift $((OPTIND - 1))
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /var/tmp/lbbench.XXXXXX)
trap 'rm -rf "$work"' EXIT
lb=${1:-}
if [ -z "$lb" ]; then
  lb=$work/letterbox
  (cd "$top" && go build -o "$lb" ./cmd/letterbox)
else
  cp "$lb" "$work/letterbox" && lb=$work/letterbox
fi
lda=/usr/lib/dovecot/dovecot-lda
for p in procmail "$lda" /usr/bin/time; do
  command -v "$p" >/dev/null || { echo "missing $p (Debian: procmail, dovecot-core, time)" >&2; exit 69; }
done

as=()
if [ "$(id -u)" = 0 ]; then
  id lbbench >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin lbbench
  usermod -d "$work" lbbench # procmail chdirs to the passwd home
  chown -R lbbench "$work"
  as=(setpriv --reuid=lbbench --regid=lbbench --clear-groups --)
fi
run() { HOME=$work "${as[@]}" "$@"; }

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
chown -R "${as[@]:+lbbench}" "$work/corpus" 2>/dev/null || true

cat >"$work/procmailrc" <<EOF
DEFAULT=$work/out/procmail/mbox
EOF
cat >"$work/dovecot.conf" <<EOF
mail_location = mbox:$work/out/dovecot:INBOX=$work/out/dovecot/mbox
log_path = $work/dovecot.log
ssl = no
EOF
cat >"$work/lb.toml" <<EOF
log = "none"
EOF
chmod 644 "$work/procmailrc" "$work/dovecot.conf" "$work/lb.toml"

deliver_all() { # peer
  local f
  case $1 in
  letterbox) for f in "$work"/corpus/*; do run "$lb" deliver -c "$work/lb.toml" -f sender@example.org -r rcpt@example.net "$work/out/letterbox/mbox" <"$f"; done ;;
  procmail) for f in "$work"/corpus/*; do run procmail -m -f sender@example.org "$work/procmailrc" <"$f"; done ;;
  dovecot) for f in "$work"/corpus/*; do run "$lda" -c "$work/dovecot.conf" -e -f sender@example.org <"$f"; done ;;
  esac
}
# per-delivery microseconds of one rep
time_rep() {
  rm -rf "$work/out/$1"
  mkdir -p "$work/out/$1"
  [ ${#as[@]} -eq 0 ] || chown -R lbbench "$work/out"
  local t0=$EPOCHREALTIME
  deliver_all "$1"
  local t1=$EPOCHREALTIME
  # Every peer's mailbox must hold every message once.
  local got
  got=$(grep -c '^X-Bench-Seq: ' "$work/out/$1/mbox")
  [ "$got" = "$n" ] || { echo "$1: mailbox holds $got messages, want $n" >&2; exit 1; }
  echo $(((${t1/./} - ${t0/./}) / n))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A reps_of
for peer in letterbox procmail dovecot; do reps_of[$peer]=""; done
for ((r = 0; r < reps; r++)); do
  for peer in letterbox procmail dovecot; do
    reps_of[$peer]+="$(time_rep $peer) "
  done
done

echo "$n messages ($(du -sh "$work/corpus" | cut -f1)), $reps reps interleaved, median per delivery:"
declare -A med
for peer in letterbox procmail dovecot; do
  med[$peer]=$(printf '%s\n' ${reps_of[$peer]} | median)
  printf '  %-12s %7d us   (%5d deliveries/s)   reps: %s\n' "$peer" "${med[$peer]}" $((1000000 / med[$peer])) "${reps_of[$peer]}"
done
awk -v l="${med[letterbox]}" -v p="${med[procmail]}" -v d="${med[dovecot]}" 'BEGIN {
  printf "  letterbox time / procmail: %.2f, / dovecot-lda: %.2f (goal: below 1 for both)\n", l / p, l / d }'

# Peak RSS delivering one large message (goal: under 32 MiB).
if [ "$big" -gt 0 ]; then
  head -c $((big << 20)) /dev/zero | tr '\0' 'x' | fold -w 99 | { echo "Subject: big"; echo; cat; } >"$work/big.msg"
  rm -f "$work/out/big.mbox"
  rss=$(run /usr/bin/time -f %M "$lb" deliver -c "$work/lb.toml" -f a@b -r c@d "$work/out/big.mbox" <"$work/big.msg" 2>&1 >/dev/null | tail -1)
  echo
  echo "peak RSS delivering one ${big} MiB message: $((rss / 1024)) MiB (goal: under 32 MiB)"
  rm -f "$work/big.msg" "$work/out/big.mbox"
fi

# Appending to a 2 GiB mbox costs the same as to an empty one: nothing is
# read but the last two bytes. (A sparse 2 GiB file ending in an empty line.)
m=200
empty=$work/out/empty.mbox full=$work/out/full.mbox
: >"$empty"
truncate -s $((2 << 30)) "$full"
printf '\n\n' >>"$full"
[ ${#as[@]} -eq 0 ] || chown lbbench "$empty" "$full"
cost() { # mailbox
  local i t0=$EPOCHREALTIME
  for ((i = 0; i < m; i++)); do run "$lb" deliver -c "$work/lb.toml" -f a@b -r c@d "$1" <"$work/corpus/00001"; done
  local t1=$EPOCHREALTIME
  echo $(((${t1/./} - ${t0/./}) / m))
}
ce1=$(cost "$empty") cf1=$(cost "$full") ce2=$(cost "$empty") cf2=$(cost "$full")
echo
echo "append to an empty mbox: $(((ce1 + ce2) / 2)) us, to a 2 GiB mbox: $(((cf1 + cf2) / 2)) us per delivery"
awk -v e=$((ce1 + ce2)) -v f=$((cf1 + cf2)) 'BEGIN { printf "  ratio 2 GiB / empty: %.2f (goal: 1)\n", f / e }'
