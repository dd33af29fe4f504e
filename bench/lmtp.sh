#!/usr/bin/env bash
# Side by side (issue 13, item 5): letterbox lmtp against dovecot-lmtp and
# against the best pipe MDA run once per message (procmail for mbox,
# safecat for Maildir), with 1, 4 and 16 concurrent clients, into one mbox,
# into 100 mboxes (recipients drawn with a fixed seed) and into a Maildir.
# fsync on for all: letterbox's default, dovecot's mail_fsync = always,
# procmail and safecat always sync. Then letterbox alone: peak RSS with 16
# connections of 10 MiB messages into one mbox.
#
# The load client is bench/lmtpload (Go): each LMTP client connection runs
# its transactions back to back (MAIL, RCPT, DATA; pipelined, as both
# servers offer PIPELINING); for the pipe MDAs each stream runs one process
# per message with the message on stdin. Reported per cell: deliveries/s,
# p50 and p99 latency of one transaction, and the server's peak RSS
# (letterbox-lmtp: VmHWM of its one process; dovecot: the sum of VmHWM of
# its lmtp processes, one per connection). After each run the mailboxes
# must hold exactly the acknowledged messages (each message carries a
# unique X-Bench-Id; the stored set, per mailbox, must equal the
# acknowledged one), else the run fails. Reps are interleaved (for each
# rep, target, concurrency: letterbox, dovecot, pipe); medians reported.
#
# Everything that touches mail runs as the unprivileged user lbbench: the
# letterbox server (virtual layout, [lmtp] mailbox), the client, the pipe
# MDAs, and dovecot's deliveries (static userdb). Needs root to create that
# user and to start a private dovecot master (own base_dir, state_dir and
# config, protocols = lmtp, unix listener only; the system dovecot is not
# touched).
#
# usage: bench/lmtp.sh [-n MESSAGES] [-r REPS] [-c "1 4 16"] [-t TARGETS]
#                      [-d DEADLINE] [-b BIG_MIB] [-m BIG_MESSAGES] [LETTERBOX]
# TARGETS is a list of mbox1, mbox100, maildir. DEADLINE (seconds) bounds a
# run: no transaction starts after it (procmail sleeps 8 s when it finds
# the mailbox locked). LETTERBOX must have letterbox-lmtp beside it.
# Needs: dovecot-core, dovecot-lmtpd, procmail, safecat (Debian packages).
n=1000 reps=3 conns="1 4 16" targets="mbox1 mbox100 maildir" deadline=10 big=10 bign=48
while getopts n:r:c:t:d:b:m: o; do
  case $o in
  n) n=$OPTARG ;; r) reps=$OPTARG ;; c) conns=$OPTARG ;; t) targets=$OPTARG ;;
  d) deadline=$OPTARG ;; b) big=$OPTARG ;; m) bign=$OPTARG ;; *) exit 64 ;;
  esac
done
shift $((OPTIND - 1))
[ "$(id -u)" = 0 ] || { echo "run as root: it starts a private dovecot and runs the rest as lbbench" >&2; exit 77; }
for p in dovecot /usr/lib/dovecot/lmtp procmail safecat; do
  command -v "$p" >/dev/null || { echo "missing $p (Debian: dovecot-core dovecot-lmtpd procmail safecat)" >&2; exit 69; }
done
lb=${1:-}
source "$(dirname "$0")/lib.sh"
if [ -n "${1:-}" ]; then
  cp "$(dirname "$1")/letterbox-lmtp" "$work/letterbox-lmtp"
else
  (cd "$top" && go build -o "$work/letterbox-lmtp" ./cmd/letterbox-lmtp)
fi
(cd "$top" && go build -o "$work/lmtpload" ./bench/lmtpload)

servers=() # pids to stop on exit
trap 'for p in "${servers[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"' EXIT
mkdir -p "$work"/{run,home,dovecot} "$work/dovecot/run"
own "$work"

for f in mbox maildir; do
  slash=; [ $f = maildir ] && slash=/
  printf 'log = "none"\n[lmtp]\nmailbox = "%s"\n' "$work/out/letterbox/{user}$slash" >"$work/lb-$f.toml"
  if [ $f = mbox ]; then loc="mbox:~/mail:INBOX=$work/out/dovecot/%n"; else loc="maildir:$work/out/dovecot/%n"; fi
  cat >"$work/dovecot-$f.conf" <<EOF
# A private instance for bench/lmtp.sh, not the system's dovecot.
instance_name = lbbench-lmtp
base_dir = $work/dovecot/run
state_dir = $work/dovecot/state
log_path = $work/dovecot/log
info_log_path = /dev/null
protocols = lmtp
ssl = no
mail_fsync = always
mail_location = $loc
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=lbbench gid=lbbench home=$work/home/%n
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = 0
  }
}
service submission-login {
  inet_listener submission {
    port = 0
  }
}
EOF
done
printf 'DEFAULT=%s/$1\n' "$work/out/pipe" >"$work/procmailrc"
printf 'From seed@example.org Thu Jan  1 00:00:00 2026\nSubject: seed\n\nseed\n\n' >"$work/seed"
chmod 600 "$work/seed"
chmod 644 "$work"/*.toml "$work"/*.conf "$work/procmailrc"

waitsock() { # path
  local i
  for ((i = 0; i < 200; i++)); do [ -S "$1" ] && return; sleep 0.05; done
  echo "no socket $1" >&2
  exit 1
}
hwm() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; } # KiB

# start PEER FORMAT: starts the server and sets addr and pid.
start() {
  case $1 in
  letterbox)
    rm -f "$work/run/lb.sock"
    HOME=$work "${as[@]}" "$lb" lmtp -c "$work/lb-$2.toml" --listen "unix:$work/run/lb.sock" 2>>"$work/lb.log" &
    pid=$! addr=unix:$work/run/lb.sock ;;
  dovecot)
    rm -rf "$work/dovecot/run" # a socket left by the last run would pass waitsock
    dovecot -c "$work/dovecot-$2.conf" -F 2>>"$work/dovecot/master.log" &
    pid=$! addr=unix:$work/dovecot/run/lmtp ;;
  esac
  servers+=("$pid")
  waitsock "${addr#unix:}"
}
# rss PEER: the server's peak RSS so far, KiB.
rss() {
  case $1 in
  letterbox) hwm "$pid" ;;
  dovecot)
    local c s=0
    for c in $(cat "/proc/$pid/task/$pid/children"); do
      [ "$(cat "/proc/$c/comm" 2>/dev/null)" = lmtp ] && s=$((s + $(hwm "$c" 2>/dev/null || echo 0)))
    done
    echo "$s" ;;
  esac
}
stop() {
  kill -TERM "$pid"
  wait "$pid" || true
  servers=()
}

# verify PEER: the mailboxes hold exactly the acknowledged messages, each
# in its recipient's mailbox, once.
verify() {
  local d=$work/out/$1
  find "$d" -type f \( -path '*/new/*' -o -path '*/cur/*' -o -regex '.*/u[0-9]+' \) -print0 |
    xargs -0r grep -H '^X-Bench-Id: ' |
    awk -v d="$d/" '{ p = substr($0, length(d) + 1); split(p, a, "/"); sub(/:.*/, "", a[1]); print $2, a[1] }' |
    sort >"$work/stored"
  sort "$work/acked" >"$work/acked.sorted"
  if ! cmp -s "$work/stored" "$work/acked.sorted"; then
    echo "$1: the mailboxes do not hold exactly the $(wc -l <"$work/acked") acknowledged messages (they hold $(wc -l <"$work/stored")):" >&2
    diff "$work/acked.sorted" "$work/stored" | head >&2
    exit 1
  fi
}

declare -A res # "target c peer" -> "rate p50 p99 rss;..." per rep
# cell PEER TARGET C: one run, verified, recorded.
cell() {
  local peer=$1 target=$2 c=$3 fmt=mbox users=1 r=- out u
  [ "$target" = maildir ] && fmt=maildir
  [ "$target" = mbox100 ] && users=100
  rm -rf "$work/out/$peer" "$work/home"
  mkdir -p "$work/out/$peer" "$work/home"
  [ "$peer/$fmt" = pipe/maildir ] && mkdir -p "$work/out/pipe/u0"/{tmp,new,cur}
  # Each mbox starts with one message, as a user's mailbox usually does
  # (and procmail sleeps 1 s after a delivery into an empty mbox).
  [ $fmt = maildir ] || for ((u = 0; u < users; u++)); do cp "$work/seed" "$work/out/$peer/u$u"; done
  own "$work/out" "$work/home"
  local load=("$work/lmtpload" -c "$c" -n "$n" -users "$users" -corpus "$work/corpus" -deadline "${deadline}s" -acked "$work/acked")
  if [ "$peer" = pipe ]; then
    if [ $fmt = mbox ]; then
      out=$(run "${load[@]}" -exec -- procmail -m -f sender@example.org "$work/procmailrc" '{user}') || { echo "procmail $target c=$c: $out" >&2; exit 1; }
    else
      out=$(run "${load[@]}" -exec -- safecat "$work/out/pipe/{user}/tmp" "$work/out/pipe/{user}/new") || { echo "safecat c=$c: $out" >&2; exit 1; }
    fi
  else
    start "$peer" $fmt
    out=$(run "${load[@]}" -server "$addr") || { echo "$peer $target c=$c: $out" >&2; exit 1; }
    r=$(rss "$peer")
    stop
  fi
  verify "$peer"
  eval "local $out" # acked errors rate p50 p99 wall
  printf '  %-8s c=%-2s %-9s %8.1f/s  p50 %7.2f ms  p99 %8.2f ms  rss %s KiB  (%d acked in %.1f s)\n' \
    "$target" "$c" "$peer" "$rate" "$p50" "$p99" "$r" "$acked" "$wall" >&2
  res["$target $c $peer"]+="$rate $p50 $p99 $r;"
}

# The median of field F of the reps of a cell.
medf() { # key field
  printf '%s' "${res[$1]}" | tr ';' '\n' | awk -v f="$2" 'NF { print $f }' | median
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "$n messages of 2-20 KB per run, $reps reps interleaved; load before: $load0"
for ((rep = 1; rep <= reps; rep++)); do
  echo "rep $rep (load $(cut -d' ' -f1 /proc/loadavg)):" >&2
  for target in $targets; do
    for c in $conns; do
      for peer in letterbox dovecot pipe; do cell $peer "$target" "$c"; done
    done
  done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "median of $reps reps (pipe = procmail for mbox, safecat for Maildir, one process per message):"
printf '%-8s %3s | %-9s %9s %9s %9s %9s | %s\n' target c peer deliv/s "p50 ms" "p99 ms" "RSS MiB" "letterbox / peer (deliveries/s)"
declare -A drate best
for target in $targets; do
  best[$target]=0
  for c in $conns; do
    for peer in letterbox dovecot pipe; do
      k="$target $c $peer"
      drate[$k]=$(medf "$k" 1)
      [ $peer = pipe ] && best[$target]=$(awk -v a="${best[$target]}" -v b="${drate[$k]}" 'BEGIN { print (b > a ? b : a) }')
    done
  done
done
for target in $targets; do
  for c in $conns; do
    for peer in letterbox dovecot pipe; do
      k="$target $c $peer" r=$(medf "$k" 4) ratio=
      [ "$r" = - ] || r=$(awk -v r="$r" 'BEGIN { printf "%.1f", r / 1024 }')
      [ $peer = letterbox ] || ratio=$(awk -v l="${drate[$target $c letterbox]}" -v p="${drate[$k]}" 'BEGIN { printf "%.2f", l / p }')
      printf '%-8s %3s | %-9s %9.1f %9.2f %9.2f %9s | %s\n' "$target" "$c" "$peer" "${drate[$k]}" "$(medf "$k" 2)" "$(medf "$k" 3)" "$r" "$ratio"
    done
  done
done
echo "load before: $load0, after: $load1"

# The goals, at 16 connections into one mbox.
if [[ " $targets " == *" mbox1 "* && " $conns " == *" 16 "* ]]; then
  awk -v l="${drate[mbox1 16 letterbox]}" -v d="${drate[mbox1 16 dovecot]}" -v p="${best[mbox1]}" 'BEGIN {
    printf "\ngoals at 16 connections into one mbox:\n"
    printf "  letterbox / procmail at its best concurrency: %.2f (goal >= 5: %s)\n", l / p, (l / p >= 5 ? "met" : "NOT met")
    printf "  letterbox / dovecot-lmtp: %.2f (goal >= 2: %s)\n", l / d, (l / d >= 2 ? "met" : "NOT met") }'
fi

# Peak RSS of letterbox-lmtp with 16 connections of big messages.
if [ "$big" -gt 0 ]; then
  rm -rf "$work/out/letterbox"
  mkdir -p "$work/out/letterbox"
  own "$work/out"
  start letterbox mbox
  out=$(run "$work/lmtpload" -c 16 -n "$bign" -big "$big" -deadline "${deadline}s" -acked "$work/acked" -server "$addr") || { echo "big: $out" >&2; exit 1; }
  r=$(rss letterbox)
  stop
  verify letterbox
  eval "$out"
  awk -v r="$r" -v b="$big" -v a="$acked" -v rate="$rate" 'BEGIN {
    printf "\nletterbox-lmtp, 16 connections, %d messages of %d MiB into one mbox: peak RSS %.1f MiB (goal: under 64 MiB: %s), %.1f deliveries/s\n",
      a, b, r / 1024, (r < 65536 ? "met" : "NOT met"), rate }'
fi
