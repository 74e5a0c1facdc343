#!/usr/bin/env bash
# Instructions per `get` hit for each policy at 1K, 100K and 1M entries (uniform keys,
# a full cache, 1M gets), counted by callgrind: the code's cost per hit, which should
# not grow with the cache. Wall-clock time does grow (see `cargo bench --bench
# policies`, whose HashMap rows grow 6-8x from 1K to 1M on uniform keys): that is the
# memory hierarchy, which these counts leave out. Needs valgrind; a few minutes.
#
#   benches/hit_instructions.sh [POLICY...]   # default: lru lfu ttl tinylfu s3fifo
set -euo pipefail
cd "$(dirname "$0")/.."
policies=("$@")
[ ${#policies[@]} -eq 0 ] && policies=(lru lfu ttl tinylfu s3fifo)
CARGO_PROFILE_RELEASE_DEBUG=true cargo build --release -q --example hit_instructions
bin=${CARGO_TARGET_DIR:-target}/release/examples/hit_instructions
out=$(mktemp -d)
printf '%-8s %12s %12s %12s %10s\n' policy 1K 100K 1M '1M / 1K'
for p in "${policies[@]}"; do
    row=()
    for n in 1000 100000 1000000; do
        valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$bin" "$p" "$n" >/dev/null 2>&1
        ir=$(callgrind_annotate --inclusive=yes "$out/cg" 2>/dev/null |
            grep -E 'hit_instructions::replay_gets' | head -1 | awk '{gsub(",", "", $1); print $1}')
        row+=("$(awk -v ir="$ir" 'BEGIN { printf "%.1f", ir / 1000000 }')")
    done
    printf '%-8s %12s %12s %12s %9.2fx\n' "$p" "${row[0]}" "${row[1]}" "${row[2]}" \
        "$(awk -v a="${row[0]}" -v b="${row[2]}" 'BEGIN { print b / a }')"
done
rm -rf "$out"
