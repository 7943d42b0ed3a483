#!/bin/sh
# Runs every cargo-fuzz target for SECS seconds (default 60) on seeds gathered from the
# repository's fixtures and, when TETE_CORPUS is set, the shared corpus (pointed at,
# never copied into the repository). New corpus entries go to target/fuzz-corpus/.
#   TETE_CORPUS=/work/shared/corpus fuzz/run.sh 300
#   fuzz/run.sh 60 ics_expand
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
set -eu
cd "$(dirname "$0")/.."
secs=${1:-60}
shift 2>/dev/null || true
targets=${*:-"ics_expand description html_to_text google_map_event graph_map_event config_parse"}
for t in $targets; do
    work=target/fuzz-corpus/$t
    mkdir -p "$work"
    seeds="fuzz/corpus/$t"
    [ -d "$seeds" ] || seeds=""
    extra=""
    [ -d "tests/fixtures/fuzz-regressions/$t" ] && extra="tests/fixtures/fuzz-regressions/$t"
    case $t in
        ics_expand) extra="$extra tests/fixtures/ics tests/fixtures/pass tests/fixtures/hostile ${TETE_CORPUS:+$TETE_CORPUS/ics}" ;;
        google_map_event) extra="$extra ${TETE_CORPUS:+$TETE_CORPUS/api-json/google}" ;;
        graph_map_event) extra="$extra ${TETE_CORPUS:+$TETE_CORPUS/api-json/graph}" ;;
        config_parse) extra="$extra tests/fixtures/config" ;;
    esac
    echo "== $t: $secs s"
    (cd fuzz && cargo +nightly fuzz run -O "$t" "../$work" $(for d in $seeds $extra; do case $d in (/*) printf '%s ' "$d" ;; (*) printf '../%s ' "$d" ;; esac; done) \
        -- -max_total_time="$secs" -max_len=262144 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1) 2>&1 \
        | grep -E "^(==|#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss|SUMMARY|.*ERROR|.*panicked|Done|artifact_prefix|Test unit written)" || true
done
