#!/usr/bin/env bash
# Side by side: letterbox deliver DIR/, safecat, maildrop and dovecot-lda
# delivering the same messages into Maildirs, fsync on for all (each syncs
# its tmp file; letterbox and dovecot-lda also new/). Each delivery is one
# process with the message on stdin. Median of interleaved reps, and the
# ratio of letterbox's time to each peer's (goal: at most the fastest's).
#
# usage: bench/maildir.sh [-n MESSAGES] [-r REPS] [-B BASELINE] [LETTERBOX]
# -B adds another letterbox binary (say, the previous commit's) as the peer
# "baseline", interleaved with the rest, to show a change is no slower.
# Needs: safecat, maildrop, dovecot-core (Debian packages).
n=1000 reps=3 baseline=
while getopts n:r:B: o; do
  case $o in n) n=$OPTARG ;; r) reps=$OPTARG ;; B) baseline=$OPTARG ;; *) exit 64 ;; esac
done
shift $((OPTIND - 1))
lb=${1:-}
source "$(dirname "$0")/lib.sh"
lda=/usr/lib/dovecot/dovecot-lda
for p in safecat maildrop "$lda"; do
  command -v "$p" >/dev/null || { echo "missing $p (Debian: safecat, maildrop, dovecot-core)" >&2; exit 69; }
done

cat >"$work/mailfilter" <<EOF2
DEFAULT="$work/out/maildrop/"
EOF2
chmod 600 "$work/mailfilter"
cat >"$work/dovecot.conf" <<EOF2
mail_location = maildir:$work/out/dovecot
log_path = $work/dovecot.log
ssl = no
EOF2
printf 'log = "none"\n' >"$work/lb.toml"
chmod 644 "$work/dovecot.conf" "$work/lb.toml"
own "$work"

prepare() {
  rm -rf "$work/out/$1"
  mkdir -p "$work/out/$1"/{tmp,new,cur}
  own "$work/out"
}
count() { find "$work/out/$1" -path '*/new/*' -type f | wc -l; }
deliver_all() {
  local f d=$work/out/$1
  case $1 in
  letterbox | baseline)
    local bin=$lb
    [ "$1" = letterbox ] || bin=$baseline
    for f in "$work"/corpus/*; do run "$bin" deliver -c "$work/lb.toml" -f s@example.org -r r@example.net "$d/" <"$f"; done ;;
  safecat) for f in "$work"/corpus/*; do run safecat "$d/tmp" "$d/new" <"$f" >/dev/null; done ;;
  maildrop) for f in "$work"/corpus/*; do run maildrop -f s@example.org "$work/mailfilter" <"$f"; done ;;
  dovecot) for f in "$work"/corpus/*; do run "$lda" -c "$work/dovecot.conf" -e -f s@example.org <"$f"; done ;;
  esac
}

bench letterbox ${baseline:+baseline} safecat maildrop dovecot
fastest=$(for p in safecat maildrop dovecot; do echo "${med[$p]} $p"; done | sort -n | head -1 | cut -d' ' -f2)
for p in safecat maildrop dovecot; do
  awk -v l="${med[letterbox]}" -v q="${med[$p]}" -v p="$p" 'BEGIN { printf "  letterbox time / %s: %.2f\n", p, l / q }'
done
echo "  (goal: letterbox at least as fast as the fastest peer, $fastest)"
if [ -n "$baseline" ]; then
  for p in safecat maildrop dovecot; do
    awk -v l="${med[baseline]}" -v q="${med[$p]}" -v p="$p" 'BEGIN { printf "  baseline time / %s: %.2f\n", p, l / q }'
  done
  awk -v l="${med[letterbox]}" -v b="${med[baseline]}" 'BEGIN { printf "  letterbox / baseline: %.2f\n", l / b }'
fi
