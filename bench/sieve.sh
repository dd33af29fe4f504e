#!/usr/bin/env bash
# Side by side: what a 50-rule Sieve script adds to a pipe delivery. Peers,
# each delivering the same messages into an mbox, fsync on, one process per
# message as an MTA runs an MDA, reps interleaved, medians and ratios:
#
#   plain      letterbox deliver, no script (sieve_script = "")
#   sieve50    letterbox deliver through the 50-rule script
#   lda        dovecot-lda, no script
#   lda50      dovecot-lda with Pigeonhole running the same script (its
#              compiled .svbin cached beside it, as Pigeonhole does)
#
# The rules test header, address, envelope, exists, size and :matches; none
# matches the corpus, so every rule runs and every message is kept (the
# worst case for the filter, the mailbox count unchanged). The goal: sieve50
# under 1.20 x plain. The in-process figure is deliver's BenchmarkSieve
# (go test -run - -bench Sieve ./deliver).
#
# usage: bench/sieve.sh [-n MESSAGES] [-r REPS] [LETTERBOX]
# Needs: dovecot-core, dovecot-sieve (Debian packages) for the lda peers.
n=500 reps=3
while getopts n:r: o; do
  case $o in n) n=$OPTARG ;; r) reps=$OPTARG ;; *) exit 64 ;; esac
done
shift $((OPTIND - 1))
lb=${1:-}
source "$(dirname "$0")/lib.sh"
lda=/usr/lib/dovecot/dovecot-lda
peers=(plain sieve50)
if [ -x "$lda" ] && [ -e /usr/lib/dovecot/modules/lib90_sieve_plugin.so ]; then
  peers+=(lda lda50)
else
  echo "dovecot-lda with the sieve plugin not installed: letterbox alone" >&2
fi

{
  echo 'require ["fileinto", "envelope", "imap4flags"];'
  for ((i = 0; i < 50; i++)); do
    case $((i % 6)) in
    0) echo "if header :contains \"subject\" \"nomatch-$i\" { fileinto \"F$i\"; stop; }" ;;
    1) echo "if address :is :domain \"from\" \"nomatch$i.example\" { fileinto \"F$i\"; stop; }" ;;
    2) echo "if envelope :is \"from\" \"nomatch$i@example.org\" { fileinto \"F$i\"; stop; }" ;;
    3) echo "if exists \"X-Nomatch-$i\" { addflag \"\\\\Flagged\"; fileinto \"F$i\"; stop; }" ;;
    4) echo "if allof (size :over 100M, header :contains \"to\" \"nomatch$i\") { discard; stop; }" ;;
    5) echo "if header :matches \"list-id\" \"*nomatch-$i.*\" { fileinto \"F$i\"; stop; }" ;;
    esac
  done
} >"$work/rules.sieve"
for p in plain sieve50; do
  script=
  [ $p = sieve50 ] && script=$work/rules.sieve
  printf 'log = "none"\nsieve_script = "%s"\nstate_dir = "%s"\n' "$script" "$work/state" >"$work/$p.toml"
done
for p in lda lda50; do
  cat >"$work/$p.conf" <<CONF
mail_location = mbox:$work/out/$p:INBOX=$work/out/$p/mbox
log_path = $work/dovecot.log
ssl = no
CONF
done
cat >>"$work/lda50.conf" <<CONF
protocol lda {
  mail_plugins = sieve
}
plugin {
  sieve = file:$work/sieve;active=$work/rules.sieve
}
CONF
mkdir -p "$work/sieve" "$work/state"
chmod 644 "$work"/*.toml "$work"/*.conf "$work/rules.sieve"
own "$work"
"$lb" sieve check "$work/rules.sieve"

deliver_all() {
  local f
  case $1 in
  plain | sieve50)
    for f in "$work"/corpus/*; do run "$lb" deliver -c "$work/$1.toml" -f sender@example.org -r rcpt@example.net "$work/out/$1/mbox" <"$f"; done ;;
  lda | lda50)
    for f in "$work"/corpus/*; do run "$lda" -c "$work/$1.conf" -e -f sender@example.org <"$f"; done ;;
  esac
}

bench "${peers[@]}"
awk -v p="${med[plain]}" -v s="${med[sieve50]}" 'BEGIN {
  printf "  letterbox sieve50 / plain: %.2f (goal: under 1.20)\n", s / p }'
if [ -n "${med[lda50]:-}" ]; then
  awk -v s="${med[sieve50]}" -v l="${med[lda]}" -v l5="${med[lda50]}" 'BEGIN {
    printf "  dovecot-lda with the script / without: %.2f; letterbox sieve50 / dovecot-lda with the script: %.2f\n", l5 / l, s / l5 }'
fi
