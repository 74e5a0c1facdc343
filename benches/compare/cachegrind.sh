#!/usr/bin/env bash
# Instructions and simulated cache misses per operation of workload (a) (Zipf s=1.0
# over 1M keys, capacity 100K, get then insert on a miss, 1 thread), for the caches
# of the comparison table named by their row numbers (default: polycache S3Fifo
# without hit counts, and quick_cache).
#
#   benches/compare/cachegrind.sh [ROW...]
#   COLUMN=2 benches/compare/cachegrind.sh [ROW...]   # workload (b): hits only
#   BYTEMAP=1 COLUMN=C benches/compare/cachegrind.sh [ROW...]   # the ByteMap section
#
# With COLUMN=2 it runs workload (b) instead (reads only on a warm cache of 100K
# entries, Zipf keys, 1 thread) and counts only `get`: the cost of a hit, for
# comparing policies' hit paths (issue 4's "a TinyLfu hit at most 1.5x an Lru hit").
#
# Wall-clock ratios on a shared 2-core VM drift by 2x within an hour; these counts do
# not: the same binary and input give the same numbers whatever else the machine
# does. Per operation: get and insert together, over the 4M operations of the warm
# and the timed pass (the hit ratios differ a little, so the inserts do too). The
# last-level cache is simulated at 512 KiB (this machine's L2 per core), so "LL
# misses" are the accesses that leave the core's private caches. Needs valgrind;
# about a minute per cache.
#
# With BYTEMAP=1 it profiles the ByteMap section's rows (default: ByteMap S3Fifo
# without hit counts, and quick_cache) in its column C: 0 is (c), get_owned then
# insert_slice on a miss; 2 is (d), get_owned on a warm map; 4 is (e), insert_slice
# only. Per operation over the warm and the timed pass (2M operations).
set -euo pipefail
cd "$(dirname "$0")"
rows=("$@")
column=${COLUMN:-0}
if [ -n "${BYTEMAP:-}" ]; then
    section=(--bytemap)
    bench='ByteBench'
    ops=2000000
    case "$column" in
        0) ops_re='get_owned|insert_slice' ;;
        2) ops_re='get_owned' ;;
        4) ops_re='insert_slice' ;;
        *) echo "with BYTEMAP, COLUMN must be 0 (c), 2 (d) or 4 (e)" >&2; exit 2 ;;
    esac
    [ ${#rows[@]} -eq 0 ] && rows=(2 3)
else
    section=()
    bench='Bench'
    ops=4000000
    case "$column" in
        0) ops_re='get|insert' ;;
        2) ops_re='get' ;;
        *) echo "COLUMN must be 0 (workload (a)) or 2 (workload (b))" >&2; exit 2 ;;
    esac
    [ ${#rows[@]} -eq 0 ] && rows=(4 5)
fi
CARGO_PROFILE_RELEASE_DEBUG=true cargo build --release -q
bin=target/release/polycache-compare
out=$(mktemp -d)
for r in "${rows[@]}"; do
    valgrind --tool=callgrind --cache-sim=yes --LL=524288,8,64 \
        --callgrind-out-file="$out/cg.$r" "$bin" "${section[@]}" --quick --runs 1 --only "$r" --column "$column" \
        >"$out/log.$r" 2>&1
    name=$(grep -E '^\| ' "$out/log.$r" | awk -F'|' 'NR == 2 {gsub(/^ +| +$/, "", $2); print $2}')
    callgrind_annotate --inclusive=yes --show=Ir,DLmr,DLmw "$out/cg.$r" 2>/dev/null |
        grep -E " as polycache_compare::(bytemap::)?$bench>::($ops_re) \\[" |
        awk -v name="$name" -v ops="$ops" '
            { gsub(",", "", $1); gsub(",", "", $3); gsub(",", "", $5);
              ir += $1; rd += $3; wr += ($5 == "." ? 0 : $5) }
            END { printf "%-34s per operation: %6.1f instructions, %5.3f LL read misses, %5.3f LL write misses\n",
                         name, ir / ops, rd / ops, wr / ops }'
done
rm -rf "$out"
