#!/bin/sh
# Runs every cargo-fuzz target for SECS seconds (default 60) on seeds gathered from the
# repository's fixtures and, when TETE_CORPUS is set, the shared corpus (pointed at,
# never copied into the repository). New corpus entries go to target/fuzz-corpus/.
#   TETE_CORPUS=/work/shared/corpus fuzz/run.sh 300
#   fuzz/run.sh 60 ics_expand
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# TETE_FUZZ_NICE=1 runs the fuzzer under `nice -n 19` (a shared machine).
# TETE_FUZZ_PREBUILT=1 runs the binaries `cargo +nightly fuzz build -O` left in
# fuzz/target/ as they are (no rebuild when the sources changed since).
set -eu
cd "$(dirname "$0")/.."
secs=${1:-60}
shift 2>/dev/null || true
targets=${*:-"ics_expand ics_grammar description html_to_text google_map_event graph_map_event config_parse config_grammar reply"}
nice=""
[ -n "${TETE_FUZZ_NICE:-}" ] && nice="nice -n 19"
for t in $targets; do
    work=target/fuzz-corpus/$t
    mkdir -p "$work"
    seeds="fuzz/corpus/$t"
    [ -d "$seeds" ] || seeds=""
    extra=""
    # Byte-level targets take their regression inputs as seeds; the grammar targets'
    # folders hold rendered text (for tests/it/hostile.rs), not the fuzzer's bytes.
    case $t in
        *_grammar) ;;
        *) [ -d "tests/fixtures/fuzz-regressions/$t" ] && extra="tests/fixtures/fuzz-regressions/$t" ;;
    esac
    # Inputs up to 256 KiB, except .ics: every byte of an .ics costs ~2 µs under ASan and
    # coverage tracing, so with the shared corpus's 212 KB files (kept as seeds, cut to
    # their first 4 KiB) the target ran at ~35 inputs/s; 4 KiB still holds a VTIMEZONE
    # and a few events, and the grammar target builds the big inputs.
    max_len=262144
    len_control=""
    case $t in
        ics_expand) max_len=4096
            extra="$extra tests/fixtures/ics tests/fixtures/pass tests/fixtures/hostile ${TETE_CORPUS:+$TETE_CORPUS/ics}" ;;
        # Without -len_control=0 libFuzzer keeps inputs at a few dozen bytes for
        # minutes, and `arbitrary` builds next to nothing from them.
        ics_grammar|config_grammar) max_len=16384 len_control="-len_control=0" ;;
        google_map_event) extra="$extra ${TETE_CORPUS:+$TETE_CORPUS/api-json/google}" ;;
        graph_map_event) extra="$extra ${TETE_CORPUS:+$TETE_CORPUS/api-json/graph}" ;;
        config_parse) extra="$extra tests/fixtures/config" ;;
        reply) extra="$extra tests/fixtures/replies" ;;
    esac
    echo "== $t: $secs s"
    dirs="../$work $(for d in $seeds $extra; do case $d in (/*) printf '%s ' "$d" ;; (*) printf '../%s ' "$d" ;; esac; done)"
    flags="-max_total_time=$secs -max_len=$max_len -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 $len_control"
    if [ -n "${TETE_FUZZ_PREBUILT:-}" ]; then
        mkdir -p "fuzz/artifacts/$t"
        # shellcheck disable=SC2086
        (cd fuzz && $nice "target/x86_64-unknown-linux-gnu/release/$t" -artifact_prefix="artifacts/$t/" $dirs $flags) 2>&1
    else
        # shellcheck disable=SC2086
        (cd fuzz && $nice cargo +nightly fuzz run -O "$t" $dirs -- $flags) 2>&1
    fi \
        | grep -E "^(==|#[0-9]+.*DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss|SUMMARY|.*ERROR|.*panicked|Done|artifact_prefix|Test unit written)" || true
done
