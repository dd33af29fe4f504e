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
# usage: bench/deliver.sh [-n MESSAGES] [-r REPS] [-b BIG_MIB] [-B BASELINE] [LETTERBOX]
# -B adds another letterbox binary (say, the previous commit's) as the peer
# "baseline", interleaved with the rest, to show a change is no slower.
# Needs: procmail, dovecot-core, time (Debian packages).
n=1000 reps=3 big=1024 baseline=
while getopts n:r:b:B: o; do
  case $o in n) n=$OPTARG ;; r) reps=$OPTARG ;; b) big=$OPTARG ;; B) baseline=$OPTARG ;; *) exit 64 ;; esac
done
shift $((OPTIND - 1))
lb=${1:-}
source "$(dirname "$0")/lib.sh"
lda=/usr/lib/dovecot/dovecot-lda
for p in procmail "$lda" /usr/bin/time; do
  command -v "$p" >/dev/null || { echo "missing $p (Debian: procmail, dovecot-core, time)" >&2; exit 69; }
done

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

deliver_all() {
  local f
  case $1 in
  letterbox | baseline)
    local bin=$lb
    [ "$1" = letterbox ] || bin=$baseline
    for f in "$work"/corpus/*; do run "$bin" deliver -c "$work/lb.toml" -f sender@example.org -r rcpt@example.net "$work/out/$1/mbox" <"$f"; done ;;
  procmail) for f in "$work"/corpus/*; do run procmail -m -f sender@example.org "$work/procmailrc" <"$f"; done ;;
  dovecot) for f in "$work"/corpus/*; do run "$lda" -c "$work/dovecot.conf" -e -f sender@example.org <"$f"; done ;;
  esac
}

bench letterbox ${baseline:+baseline} procmail dovecot
if [ -n "$baseline" ]; then
  awk -v l="${med[letterbox]}" -v b="${med[baseline]}" -v p="${med[procmail]}" -v d="${med[dovecot]}" 'BEGIN {
    printf "  baseline time / procmail: %.2f, / dovecot-lda: %.2f; letterbox / baseline: %.2f\n", b / p, b / d, l / b }'
fi
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
own "$empty" "$full"
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
