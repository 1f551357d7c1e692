#!/usr/bin/env bash
# Side-by-side: `dsf bench` against fio (io_uring, O_DIRECT) on the same file, same pattern.
# 4 KiB randread and randwrite at iodepth 1 and 32, alternating dsf/fio (A B A B), N repetitions;
# prints medians (min-max) and the ratios the foundation issue sets:
#   dsf/fio IOPS at QD32 >= 0.9      dsf/fio p50 latency at QD1 <= 1.1
# Latency on both sides is submit-to-completion (fio: lat_ns with --lat_percentiles=1).
#
# usage: bench/fio-compare.sh [--file PATH] [--size 1g] [--runtime 10] [--ramp 1] [--reps 3]
#                             [--backend uring|file] [--idle block|spin|backoff] [--taskset CPUS]
#                             [--cases "randread:1 randread:32 randwrite:1 randwrite:32"]
# The file must be on a filesystem with O_DIRECT (the work disk; not tmpfs). Default:
# bench/.bench-out/fio-compare.img. Raw JSON of every run goes to bench/.bench-out/fio-compare-DATE/.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
OUT_BASE="$ROOT/bench/.bench-out"
FILE="${DSF_BENCH_FILE:-$OUT_BASE/fio-compare.img}"
SIZE=1g
RUNTIME=10
RAMP=1
REPS=3
BACKEND=uring
BACKEND_SET=0
IDLE=block
TASKSET=""
CASES="randread:1 randread:32 randwrite:1 randwrite:32"
FIO_EXTRA="${FIO_EXTRA:---fixedbufs=1 --registerfiles=1}"

die() { printf 'fio-compare: %s\n' "$*" >&2; exit 1; }
log() { printf '%s\n' "$*" >&2; }

while (( $# )); do
    case "$1" in
        --file) FILE="$2"; shift 2 ;;
        --size) SIZE="$2"; shift 2 ;;
        --runtime) RUNTIME="$2"; shift 2 ;;
        --ramp) RAMP="$2"; shift 2 ;;
        --reps) REPS="$2"; shift 2 ;;
        --backend) BACKEND="$2"; BACKEND_SET=1; shift 2 ;;
        --idle) IDLE="$2"; shift 2 ;;
        --taskset) TASKSET="$2"; shift 2 ;;
        --cases) CASES="$2"; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[[ "$BACKEND" == uring || "$BACKEND" == file ]] || die "--backend must be uring or file"
[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "--reps must be a positive integer"
[[ "$RUNTIME" =~ ^[0-9]+$ && "$RAMP" =~ ^[0-9]+$ ]] || die "--runtime and --ramp are whole seconds"

# --- tools -------------------------------------------------------------------------------
if ! command -v fio >/dev/null 2>&1; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        log "installing fio (apt-get install -y fio)..."
        apt-get install -y -qq fio >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq fio >/dev/null; } \
            || die "could not install fio: run apt-get install -y fio"
    else
        die "fio is not installed: apt-get install -y fio (as root)"
    fi
fi
if command -v jq >/dev/null 2>&1; then JSON=jq
elif command -v python3 >/dev/null 2>&1; then JSON=python3
else die "needs jq or python3 to read JSON: apt-get install -y jq"
fi
fio --enghelp 2>/dev/null | grep -qw io_uring || die "this fio has no io_uring engine (fio --enghelp)"

# json_get FILE EXPR: EXPR is a jq path ('.a.b["x"]'); python3 evaluates the same path.
json_get() {
    if [[ $JSON == jq ]]; then jq -r "$2" "$1"
    else python3 - "$1" "$2" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
for part in re.findall(r'\.(\w+)|\[(\d+)\]|\["([^"]+)"\]', sys.argv[2]):
    key = part[0] or part[2]
    d = d[int(part[1])] if part[1] else d[key]
print(d)
PY
    fi
}

PIN=()
[[ -n "$TASKSET" ]] && PIN=(taskset -c "$TASKSET")
PLACEMENT="unpinned"
[[ -n "$TASKSET" ]] && PLACEMENT="taskset -c $TASKSET (both tools)"

# --- the file ----------------------------------------------------------------------------
mkdir -p "$(dirname "$FILE")"
fstype="$(stat -f -c %T "$(dirname "$FILE")" 2>/dev/null || echo unknown)"
[[ "$fstype" == tmpfs || "$fstype" == ramfs ]] && die "$FILE is on $fstype: O_DIRECT needs a real filesystem (use --file on the work disk)"
size_bytes="$(numfmt --from=iec "$(echo "$SIZE" | tr 'a-z' 'A-Z' | sed 's/IB$//; s/B$//')")"
if [[ ! -f "$FILE" || "$(stat -c %s "$FILE")" != "$size_bytes" ]]; then
    log "laying out $FILE ($SIZE) with fio..."
    rm -f "$FILE"
    fio --name=layout --filename="$FILE" --size="$size_bytes" --rw=write --bs=1M --direct=1 --ioengine=psync \
        --output=/dev/null || die "could not lay out $FILE"
fi

# --- dsf ---------------------------------------------------------------------------------
DSF="$ROOT/dsf"
"$DSF" --version >/dev/null || die "./dsf does not run"
target="device:$BACKEND:$FILE"
backend_note=""
if ! probe="$("$DSF" bench --target "$target" --rw randread --runtime 200ms --progress-interval 0 --no-prefill 2>&1 >/dev/null)"; then
    if [[ "$BACKEND" == uring && $BACKEND_SET == 0 ]]; then
        backend_note="uring: unavailable ($(echo "$probe" | tail -n1)); dsf ran on file: (page cache, NOT comparable with O_DIRECT fio)"
        log "WARNING: $backend_note"
        BACKEND=file
        target="device:file:$FILE"
    else
        die "dsf cannot drive $target: $probe"
    fi
fi
export DSF_SKIP_BUILD=1 # built by the probe above

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
RUN_DIR="$OUT_BASE/fio-compare-$stamp"
mkdir -p "$RUN_DIR"

# busy% per CPU over one second, from /proc/stat: "cpu0 3% cpu1 1%"
cpu_busy() {
    local a b
    a="$(grep '^cpu[0-9]' /proc/stat)"
    sleep 1
    b="$(grep '^cpu[0-9]' /proc/stat)"
    paste <(echo "$a") <(echo "$b") | awk '{
        n = (NF) / 2; t1 = 0; t2 = 0
        for (i = 2; i <= n; i++) t1 += $i
        for (i = n + 2; i <= NF; i++) t2 += $i
        idle1 = $5 + $6; idle2 = $(n + 5) + $(n + 6)
        dt = t2 - t1; busy = dt > 0 ? 100 * (dt - (idle2 - idle1)) / dt : 0
        printf "%s %.0f%% ", $1, busy }'
}

run_dsf() { # rw qd rep -> prints "iops p50 p99"
    local rw=$1 qd=$2 rep=$3 out="$RUN_DIR/dsf-$1-qd$2-$3.json"
    "${PIN[@]}" "$DSF" bench --target "$target" --rw "$rw" --bs 4k --iodepth "$qd" --runtime "$RUNTIME" --ramp "$RAMP" \
        --idle "$IDLE" --json --progress-interval 0 --no-prefill --seed "$rep" 2>"$RUN_DIR/dsf-$rw-qd$qd-$rep.err" \
        | tail -n1 >"$out" || die "dsf run failed: see $RUN_DIR/dsf-$rw-qd$qd-$rep.err"
    echo "$(json_get "$out" .iops) $(json_get "$out" .lat_p50_us) $(json_get "$out" .lat_p99_us)"
}

run_fio() { # rw qd rep -> prints "iops p50 p99"
    local rw=$1 qd=$2 rep=$3 out="$RUN_DIR/fio-$1-qd$2-$3.json" dir
    dir=read; [[ $rw == randwrite ]] && dir=write
    # shellcheck disable=SC2086 # FIO_EXTRA is a list of options
    "${PIN[@]}" fio --name="dsfcmp-$rw-qd$qd" --filename="$FILE" --size="$size_bytes" --ioengine=io_uring --direct=1 \
        --rw="$rw" --bs=4k --iodepth="$qd" --numjobs=1 --time_based --runtime="$RUNTIME" --ramp_time="$RAMP" \
        --norandommap --randrepeat=0 --lat_percentiles=1 $FIO_EXTRA --output-format=json --output="$out" \
        >"$RUN_DIR/fio-$rw-qd$qd-$rep.err" 2>&1 || die "fio run failed: see $RUN_DIR/fio-$rw-qd$qd-$rep.err"
    local p50 p99
    p50="$(json_get "$out" ".jobs[0].$dir.lat_ns.percentile[\"50.000000\"]")"
    p99="$(json_get "$out" ".jobs[0].$dir.lat_ns.percentile[\"99.000000\"]")"
    echo "$(json_get "$out" ".jobs[0].$dir.iops") $(awk -v v="$p50" 'BEGIN{print v/1000}') $(awk -v v="$p99" 'BEGIN{print v/1000}')"
}

# median and range of whitespace-separated numbers: "MED MIN MAX"
stats() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{v[NR]=$1} END{m = NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%s %s %s", m, v[1], v[NR]}'; }

before="$(cpu_busy)"
log "CPU busy before: $before"
log "file $FILE ($SIZE, $fstype); dsf target $target idle=$IDLE; fio io_uring direct=1 $FIO_EXTRA; ${REPS} reps x ${RUNTIME}s (+${RAMP}s ramp); placement: $PLACEMENT"

declare -A R
for c in $CASES; do
    rw="${c%%:*}" qd="${c##*:}"
    for ((rep = 1; rep <= REPS; rep++)); do
        log "[$rw qd$qd rep $rep/$REPS] dsf..."
        read -r i p5 p9 < <(run_dsf "$rw" "$qd" "$rep")
        R[$c,dsf,iops]+="$i " R[$c,dsf,p50]+="$p5 " R[$c,dsf,p99]+="$p9 "
        log "    dsf: $i IOPS, p50 $p5 us, p99 $p9 us; fio..."
        read -r i p5 p9 < <(run_fio "$rw" "$qd" "$rep")
        R[$c,fio,iops]+="$i " R[$c,fio,p50]+="$p5 " R[$c,fio,p99]+="$p9 "
        log "    fio: $i IOPS, p50 $p5 us, p99 $p9 us"
    done
done
after="$(cpu_busy)"
log "CPU busy after: $after"

{
    echo "## dsf bench vs fio, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) CPUs"
    echo
    echo "file: $FILE ($SIZE on $fstype); dsf: \`$target\` --idle $IDLE; fio: io_uring --direct=1 $FIO_EXTRA;"
    echo "4 KiB, 1 job, ${REPS} alternating reps of ${RUNTIME} s (+${RAMP} s ramp); placement: $PLACEMENT."
    [[ -n "$backend_note" ]] && echo "**$backend_note**"
    echo "CPU busy (1 s sample) before: $before; after: $after"
    echo
    echo "| case | dsf IOPS med (min-max) | fio IOPS med (min-max) | IOPS dsf/fio | dsf p50 us | fio p50 us | p50 dsf/fio | dsf p99 us | fio p99 us |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for c in $CASES; do
        rw="${c%%:*}" qd="${c##*:}"
        read -r di dimin dimax <<<"$(echo "${R[$c,dsf,iops]}" | stats)"
        read -r fio_i fimin fimax <<<"$(echo "${R[$c,fio,iops]}" | stats)"
        read -r d50 _ _ <<<"$(echo "${R[$c,dsf,p50]}" | stats)"
        read -r f50 _ _ <<<"$(echo "${R[$c,fio,p50]}" | stats)"
        read -r d99 _ _ <<<"$(echo "${R[$c,dsf,p99]}" | stats)"
        read -r f99 _ _ <<<"$(echo "${R[$c,fio,p99]}" | stats)"
        awk -v c="$rw QD$qd" -v qd="$qd" -v di="$di" -v dimin="$dimin" -v dimax="$dimax" -v fi="$fio_i" -v fimin="$fimin" \
            -v fimax="$fimax" -v d50="$d50" -v f50="$f50" -v d99="$d99" -v f99="$f99" 'BEGIN {
            ri = fi > 0 ? di / fi : 0; rl = f50 > 0 ? d50 / f50 : 0
            mi = ""; ml = ""
            if (qd >= 32) mi = ri >= 0.9 ? " ok (>= 0.9)" : " BELOW 0.9"
            if (qd == 1) ml = rl <= 1.1 ? " ok (<= 1.1)" : " ABOVE 1.1"
            printf "| %s | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %.2f%s | %.1f | %.1f | %.2f%s | %.1f | %.1f |\n",
                c, di, dimin, dimax, fi, fimin, fimax, ri, mi, d50, f50, rl, ml, d99, f99 }'
    done
    echo
    echo "raw JSON: $RUN_DIR"
} | tee "$RUN_DIR/table.md"
