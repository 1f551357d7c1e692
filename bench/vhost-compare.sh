#!/usr/bin/env bash
# Side-by-side: Frodo against qemu-storage-daemon (QEMU's vhost-user-blk export), both on a null
# block device, driven by the same client (`dsf bench --target vhost-user-blk:SOCK`, the vhost-user
# test driver polling its used rings), 4 KiB random reads, same CPU placement for both (taskset).
# Each server is started (Frodo warms its I/O path up first), serves the client for every iodepth case
# (ramp, then the measured window) and is stopped;
# the servers take turns (A B A B, order reversed every other rep); medians (min-max) and ratios:
#   Frodo/qsd IOPS at iodepth 32 per queue (target >= 1.5)   Frodo/qsd p99 at iodepth 1 (target <= 0.7)
# for every queue count, Frodo threading mode and protocol (qsd has no vhost-user-scsi export: scsi is
# compared with qsd's blk).
#
# usage: bench/vhost-compare.sh [--reps 3] [--runtime 5] [--ramp 2] [--queues "1 2 4"]
#            [--threading "dedicated shared"] [--protos "blk scsi"] [--server-cpu 1] [--client-cpu 0]
#            [--frodo-idle spin|backoff|block] [--up-idle block] [--client-idle spin|backoff|block] [--qsd-iothread 1|0]
#            [--qsd-poll-ns N] [--cases "32 1"] [--with-up] [--interleaved [--rounds 20] [--slice-ms 250]]
#        bench/vhost-compare.sh --summarize DIR
# Frodo runs io.dsf.bench.vhost.FrodoBenchServer (Frodo's vhost-user server on a null vDisk: reads
# zero-filled in place, writes dropped, completions inline), qsd runs
#   qemu-storage-daemon --blockdev driver=null-co,read-zeroes=on,size=1G [--object iothread]
#                       --export type=vhost-user-blk,num-queues=Q,logical-block-size=4096[,iothread=]
# --with-up adds the whole node, `./dsf up --device null:4g` (BlockStore + Stargate vDisk, its blk
# endpoint), for each threading mode, with its queue workers' default idle mode (`--up-idle block`: the
# node's Frodo and shard threads share the one server CPU, and polling ones would take turns in
# scheduler slices; `backoff` there gave 60k IOPS and a 2 ms p99 where `block` gave 214k and 44 us). Each server is started once per rep and serves every --cases
# iodepth. Raw JSON of every run and the summary go to bench/.bench-out/vhost-compare-DATE/.
#
# --interleaved [--rounds 20] [--slice-ms 250]: the mode of record. All servers of a queue count run at
# once (each pinned to the server CPU, idle unless driven); one client JVM (`dsf bench --target-name qsd
# --target QSD --vs NAME=T ...`, --jobs = queues) holds a connection to each and drives them
# in turn, a slice at iodepth 32 then one at iodepth 1 each, order rotated every round; each round's
# IOPS are compared with qsd's of the same round. On a VM the cost of a cache-line hand-off between the
# client's and the server's vCPU follows the host's placement of the two vCPUs and moves by up to 10x
# within a minute (bench/lib/pingpong.c, printed before and after each queue count): runs of seconds
# one server after the other compare different placements, slices a fraction of a second apart mostly
# do not. --reps, --runtime, --ramp, --cases and --client-idle do not apply to it.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
REPS=3
RUNTIME=5
RAMP=2
QUEUES="1 2 4"
THREADINGS="dedicated shared"
PROTOS="blk scsi"
SERVER_CPU=1
CLIENT_CPU=0
FRODO_IDLE=backoff
UP_IDLE=block
CLIENT_IDLE=spin
QSD_IOTHREAD=1
QSD_POLL_NS=""
CASES="32 1"
WITH_UP=0
INTERLEAVED=0
ROUNDS=20
SLICE_MS=250

summarize() { # $1 output directory of a run: prints the Markdown summary
python3 - "$1" <<'PY'
import json, glob, os, statistics, sys, re
out = sys.argv[1]
runs = {}
for f in glob.glob(os.path.join(out, '*-q*-qd*-r*.json')):
    m = re.match(r'(.+)-q(\d+)-qd(\d+)-r(\d+)\.json$', os.path.basename(f))
    runs[(m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4)))] = json.loads(open(f).read())
def stats(vals):
    return (statistics.median(vals), min(vals), max(vals)) if vals else None
def fmt(t, scale=1, nd=0):
    if t is None: return '-'
    m, lo, hi = t
    return f"{m/scale:.{nd}f} ({lo/scale:.{nd}f}-{hi/scale:.{nd}f})"
labels = sorted({k[0] for k in runs if k[0] != 'qsd'})
queues = sorted({k[1] for k in runs})
reps = sorted({k[3] for k in runs})
print(open(os.path.join(out, 'setup.txt')).read())
print("Medians over the reps (min-max). Ratios: the median of the per-rep ratios, each Frodo run against the qsd")
print("run of the same rep (they ran minutes apart at most, so load drift cancels out better than in a ratio of medians).")
print()
print("| queues | server | kIOPS, iodepth 32 per queue (all queues) | IOPS ratio vs qsd (target >= 1.5) | p99 us, iodepth 1 per queue | p99 ratio vs qsd (target <= 0.7) |")
print("|---:|---|---:|---:|---:|---:|")
for q in queues:
    for label in ['qsd'] + labels:
        i32 = stats([runs[(label, q, 32, r)]['iops'] for r in reps if (label, q, 32, r) in runs])
        p1 = stats([runs[(label, q, 1, r)]['lat_p99_us'] for r in reps if (label, q, 1, r) in runs])
        ri = rp = ''
        if label != 'qsd':
            ri = fmt(stats([runs[(label, q, 32, r)]['iops'] / runs[('qsd', q, 32, r)]['iops'] for r in reps
                            if (label, q, 32, r) in runs and ('qsd', q, 32, r) in runs]), 1, 2)
            rp = fmt(stats([runs[(label, q, 1, r)]['lat_p99_us'] / runs[('qsd', q, 1, r)]['lat_p99_us'] for r in reps
                            if (label, q, 1, r) in runs and ('qsd', q, 1, r) in runs]), 1, 3)
        errs = sum(j['errors'] for k, j in runs.items() if k[0] == label and k[1] == q)
        name = label + (f" (errors {errs:.0f})" if errs else '')
        print(f"| {q} | {name} | {fmt(i32, 1000, 0)} | {ri} | {fmt(p1, 1, 1)} | {rp} |")
PY
}

summarize_interleaved() { # $1 output directory of an --interleaved run: prints the Markdown summary
python3 - "$1" <<'PY'
import json, glob, os, re, sys
out = sys.argv[1]
print(open(os.path.join(out, 'setup.txt')).read())
print("Interleaved: every server up at once, one client JVM driving each in turn for a slice (iodepth 32, then 1),")
print("order rotated every round. IOPS ratio: the median (min-max) over the rounds of each round's ratio to qsd in that round.")
print("Latency: p50/p99 over all the iodepth-1 slices of a server, and its ratio to qsd's. Bold: the target is met.")
print()
print("| queues | server | kIOPS, iodepth 32 all queues, median (min-max) | IOPS ratio vs qsd (target >= 1.5) | p50 / p99 us, iodepth 1 | p99 ratio vs qsd (target <= 0.7) |")
print("|---:|---|---:|---:|---:|---:|")
for f in sorted(glob.glob(os.path.join(out, 'interleaved-q*.jsonl')), key=lambda p: int(re.search(r'q(\d+)', p).group(1))):
    q = int(re.search(r'q(\d+)', f).group(1))
    for line in open(f):
        j = json.loads(line)
        b = lambda v, ok: f"**{v}**" if ok else v  # bold: the target is met
        ratio = '' if j['name'] == j['ref'] else b(f"{j['iops_ratio_median']:.2f}", j['iops_ratio_median'] >= 1.5) + f" ({j['iops_ratio_min']:.2f}-{j['iops_ratio_max']:.2f})"
        p99r = '' if j['name'] == j['ref'] else b(f"{j['lat_p99_ratio']:.3f}", j['lat_p99_ratio'] <= 0.7)
        errs = f" (errors {j['errors']})" if j['errors'] else ''
        print(f"| {q} | {j['name']}{errs} | {j['iops_median']/1e3:.0f} ({j['iops_min']/1e3:.0f}-{j['iops_max']/1e3:.0f}) | {ratio} | {j['lat_p50_us']:.2f} / {j['lat_p99_us']:.2f} | {p99r} |")
PY
}

die() { printf 'vhost-compare: %s\n' "$*" >&2; exit 1; }
log() { printf '%s\n' "$*" >&2; }

while (( $# )); do
    case "$1" in
        --reps) REPS="$2"; shift 2 ;;
        --runtime) RUNTIME="$2"; shift 2 ;;
        --ramp) RAMP="$2"; shift 2 ;;
        --queues) QUEUES="$2"; shift 2 ;;
        --threading) THREADINGS="$2"; shift 2 ;;
        --protos) PROTOS="$2"; shift 2 ;;
        --server-cpu) SERVER_CPU="$2"; shift 2 ;;
        --client-cpu) CLIENT_CPU="$2"; shift 2 ;;
        --frodo-idle) FRODO_IDLE="$2"; shift 2 ;;
        --up-idle) UP_IDLE="$2"; shift 2 ;;
        --client-idle) CLIENT_IDLE="$2"; shift 2 ;;
        --qsd-iothread) QSD_IOTHREAD="$2"; shift 2 ;;
        --qsd-poll-ns) QSD_POLL_NS="$2"; shift 2 ;;
        --cases) CASES="$2"; shift 2 ;;
        --with-up) WITH_UP=1; shift ;;
        --interleaved) INTERLEAVED=1; shift ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --slice-ms) SLICE_MS="$2"; shift 2 ;;
        --summarize) if compgen -G "$2/interleaved-q*.jsonl" >/dev/null; then summarize_interleaved "$2"; else summarize "$2"; fi; exit 0 ;;
        -h|--help) sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "--reps must be a positive integer"
[[ "$RUNTIME" =~ ^[0-9]+$ && "$RAMP" =~ ^[0-9]+$ ]] || die "--runtime and --ramp are whole seconds"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ && "$SLICE_MS" =~ ^[1-9][0-9]*$ ]] || die "--rounds and --slice-ms must be positive integers"

# --- tools -------------------------------------------------------------------------------
if ! command -v qemu-storage-daemon >/dev/null 2>&1; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        log "installing qemu-storage-daemon (apt-get install -y qemu-system-common)..."
        apt-get install -y -qq qemu-system-common >/dev/null 2>&1 \
            || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq qemu-system-common >/dev/null; } \
            || die "could not install it: run apt-get install -y qemu-system-common"
    else
        log "vhost-compare: skipped: qemu-storage-daemon is not installed (apt-get install -y qemu-system-common, as root)"
        exit 0
    fi
fi
command -v taskset >/dev/null 2>&1 || die "taskset is missing (util-linux)"
command -v python3 >/dev/null 2>&1 || die "python3 is needed for the summary"
NCPU=$(nproc)
(( SERVER_CPU < NCPU && CLIENT_CPU < NCPU )) || die "--server-cpu/--client-cpu must be below $NCPU"

. "$ROOT/scripts/jdk.sh"
dsf_find_jdk || exit 1
log "building dsf if needed..."
"$ROOT/dsf" --version >/dev/null 2>&1 || "$ROOT/dsf" --help >/dev/null
shopt -s nullglob
jars=("$ROOT"/node/target/dsf-node-*.jar)
shopt -u nullglob
(( ${#jars[@]} )) || die "node/target/dsf-node-*.jar is missing after the build"
CP="${jars[0]}:$ROOT/node/target/lib/*"
JAVA=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
      "-Ddsf.native.dir=$ROOT/native/target" ${FRODO_JAVA_OPTS:-})

OUT="$ROOT/bench/.bench-out/vhost-compare-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
RUN="$(mktemp -d /tmp/dsf-vhost-compare.XXXXXX)"
SERVER_PID=""
LAUNCHED=""
LAUNCHED_LOG=""
pids=() # --interleaved: every server of the current queue count
cleanup() {
    if [[ -n "$SERVER_PID" ]]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    if [[ -n "$LAUNCHED" ]]; then kill -TERM "$LAUNCHED" 2>/dev/null || true; wait "$LAUNCHED" 2>/dev/null || true; fi
    if (( ${#pids[@]} )); then kill -TERM "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; fi
    rm -rf "$RUN"
}
trap cleanup EXIT

wait_socket() { # $1 socket, $2 pid, $3 log
    local i
    for (( i = 0; i < 300; i++ )); do
        [[ -S "$1" ]] && return 0
        kill -0 "$2" 2>/dev/null || { cat "$3" >&2; die "the server exited before listening"; }
        sleep 0.05
    done
    cat "$3" >&2
    die "no socket $1 after 15 s"
}

# The start_* functions start one server, pinned to the server CPU, and wait until it serves; each sets
# LAUNCHED (its pid) and TARGET (its dsf bench target). $NAME in their arguments names its socket and logs.
start_qsd() { # $1 queues [$2 name]
    local name="${2:-qsd}" sock iot="" exp_iot="" poll=""
    sock="$RUN/$name.sock"
    rm -f "$sock"
    if [[ "$QSD_IOTHREAD" == 1 ]]; then
        [[ -n "$QSD_POLL_NS" ]] && poll=",poll-max-ns=$QSD_POLL_NS"
        iot="--object iothread,id=iot0$poll"
        exp_iot=",iothread=iot0"
    fi
    # shellcheck disable=SC2086
    taskset -c "$SERVER_CPU" qemu-storage-daemon \
        --blockdev driver=null-co,node-name=null0,size=1073741824,read-zeroes=on $iot \
        --export "type=vhost-user-blk,id=exp0,node-name=null0,addr.type=unix,addr.path=$sock,writable=on,num-queues=$1,logical-block-size=4096$exp_iot" \
        >"$RUN/$name.log" 2>&1 &
    LAUNCHED=$!
    LAUNCHED_LOG="$RUN/$name.log"
    wait_socket "$sock" "$LAUNCHED" "$LAUNCHED_LOG"
    TARGET="vhost-user-blk:$sock?null=1"
}

start_frodo() { # $1 queues, $2 threading, $3 proto [$4 name]
    local name="${4:-frodo}" sock
    sock="$RUN/$name.sock"
    rm -f "$sock"
    taskset -c "$SERVER_CPU" "${JAVA[@]}" -cp "$CP" io.dsf.bench.vhost.FrodoBenchServer --socket "$sock" --proto "$3" \
        --queues "$1" --idle "$FRODO_IDLE" --threading "$2" --shared-threads 1 --size 1g >"$RUN/$name.log" 2>&1 &
    LAUNCHED=$!
    LAUNCHED_LOG="$RUN/$name.log"
    wait_socket "$sock" "$LAUNCHED" "$LAUNCHED_LOG"
    TARGET="vhost-user-$3:$sock?null=1"
}

start_up() { # $1 queues, $2 threading [$3 name]: the whole node (BlockStore + Stargate vDisk on a null: device)
    local name="${3:-up}" dir line=""
    dir="$RUN/$name"
    rm -rf "$dir"; mkdir -p "$dir"
    taskset -c "$SERVER_CPU" env DSF_SKIP_BUILD=1 "$ROOT/dsf" up --data "$dir" --device null:4g --vdisk vb:1g --queues "$1" \
        --idle "$UP_IDLE" --threading "$2" --shards 1 >"$dir/up.out" 2>"$RUN/$name.log" &
    LAUNCHED=$!
    LAUNCHED_LOG="$RUN/$name.log"
    for (( i = 0; i < 600; i++ )); do
        line=$(grep -m1 '^endpoint vhost-user-blk vb ' "$dir/up.out" 2>/dev/null || true)
        [[ -n "$line" ]] && break
        kill -0 "$LAUNCHED" 2>/dev/null || { cat "$RUN/$name.log" >&2; die "dsf up exited"; }
        sleep 0.05
    done
    [[ -n "$line" ]] || die "dsf up printed no vhost-user-blk endpoint in 30 s"
    TARGET="vhost-user-blk:${line##* }?null=1"
}

stop_server() {
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

cpu_busy() { # prints "cpuN busy%" for the last interval since the previous call (from /proc/stat)
    python3 "$ROOT/bench/lib/cpu-busy.py" "$RUN/stat"
}

measure() { # $1 label, $2 queues, $3 iodepth, $4 rep
    local f="$OUT/$1-q$2-qd$3-r$4.json" before after
    before=$(cpu_busy)
    if ! taskset -c "$CLIENT_CPU" env DSF_SKIP_BUILD=1 "$ROOT/dsf" bench --target "$TARGET" --rw randread --bs 4k \
            --iodepth "$3" --jobs "$2" --runtime "$RUNTIME" --ramp "$RAMP" --idle "$CLIENT_IDLE" --json --no-prefill \
            --progress-interval 0 >"$RUN/client.out" 2>"$RUN/client.err"; then
        cat "$RUN/client.err" "$LAUNCHED_LOG" >&2
        die "client failed for $1 q$2 qd$3"
    fi
    after=$(cpu_busy)
    tail -n 1 "$RUN/client.out" >"$f"
    printf '{"label":"%s","queues":%s,"iodepth":%s,"rep":%s,"loadavg":"%s","busy_before":"%s","busy_during":"%s"}\n' \
        "$1" "$2" "$3" "$4" "$(cut -d' ' -f1-3 /proc/loadavg)" "$before" "$after" >>"$OUT/runs.jsonl"
    python3 - "$f" "$1" "$2" "$3" <<'PY' >&2
import json, sys
j = json.loads(open(sys.argv[1]).read())
print(f"  {sys.argv[2]:<22} q{sys.argv[3]} qd{sys.argv[4]:<3} {j['iops']:>10.0f} IOPS  p50 {j['lat_p50_us']:8.1f} us  p99 {j['lat_p99_us']:8.1f} us  errors {j['errors']:.0f}")
PY
}

log "vhost-compare: server on cpu $SERVER_CPU, client on cpu $CLIENT_CPU, client idle $CLIENT_IDLE, Frodo idle $FRODO_IDLE,"
log "  qsd iothread $QSD_IOTHREAD${QSD_POLL_NS:+ poll-max-ns $QSD_POLL_NS}; $REPS reps x ${RUNTIME}s (+${RAMP}s ramp); raw results in $OUT"
{
    echo "date: $(date -Is)"
    echo "host: $(uname -r), $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
    echo "qsd: $(qemu-storage-daemon --version | head -n1)"
    echo "java: $("$JAVA_HOME/bin/java" -version 2>&1 | head -n1)"
    echo "command: $0 --reps $REPS --runtime $RUNTIME --ramp $RAMP --queues \"$QUEUES\" --threading \"$THREADINGS\" --protos \"$PROTOS\" --server-cpu $SERVER_CPU --client-cpu $CLIENT_CPU --frodo-idle $FRODO_IDLE$([[ $WITH_UP == 1 ]] && echo " --up-idle $UP_IDLE") --client-idle $CLIENT_IDLE --qsd-iothread $QSD_IOTHREAD${QSD_POLL_NS:+ --qsd-poll-ns $QSD_POLL_NS} --cases \"$CASES\"$([[ $WITH_UP == 1 ]] && echo ' --with-up')$([[ $INTERLEAVED == 1 ]] && echo " --interleaved --rounds $ROUNDS --slice-ms $SLICE_MS")"
} >"$OUT/setup.txt"
cpu_busy >/dev/null

pingpong() { # prints the cross-CPU round trips (ns) between the client's and the server's CPU, or nothing
    if [[ ! -x "$RUN/pingpong" ]]; then
        command -v cc >/dev/null 2>&1 && cc -O2 -pthread -o "$RUN/pingpong" "$ROOT/bench/lib/pingpong.c" 2>/dev/null || return 0
    fi
    "$RUN/pingpong" 4 "$CLIENT_CPU" "$SERVER_CPU" 2>/dev/null || true
}

if [[ "$INTERLEAVED" == 1 ]]; then
    # every server at once, idle but one; one client JVM holds a connection to each and drives them in
    # turn, a slice each, so every ratio compares slices a fraction of a second apart
    for q in $QUEUES; do
        pids=()
        start_qsd "$q"; pids+=("$LAUNCHED"); LAUNCHED=""
        targets=(--target-name qsd --target "$TARGET")
        for t in $THREADINGS; do
            for p in $PROTOS; do
                start_frodo "$q" "$t" "$p" "frodo-$p-$t"; pids+=("$LAUNCHED"); LAUNCHED=""
                targets+=(--vs "frodo-$p-$t=$TARGET")
            done
            if [[ "$WITH_UP" == 1 ]]; then
                start_up "$q" "$t" "up-$t"; pids+=("$LAUNCHED"); LAUNCHED=""
                targets+=(--vs "up-blk-$t=$TARGET")
            fi
        done
        log "queues $q: $ROUNDS rounds, ${SLICE_MS} ms slices at iodepth 32 and 1 per target"
        pp_before=$(pingpong)
        if ! taskset -c "$CLIENT_CPU" env DSF_SKIP_BUILD=1 "$ROOT/dsf" bench "${targets[@]}" --rw randread --bs 4k --iodepth 32 \
                --latency-iodepth 1 --jobs "$q" --rounds "$ROUNDS" --slice-ms "$SLICE_MS" >"$OUT/interleaved-q$q.jsonl" 2>"$RUN/client.err"; then
            cat "$RUN/client.err" >&2
            kill -TERM "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null
            die "the interleaved client failed for $q queues"
        fi
        pp_after=$(pingpong)
        cp "$RUN/client.err" "$OUT/interleaved-q$q.rounds.txt"
        echo "queues $q: cross-CPU round trip ns (cpu $CLIENT_CPU <-> $SERVER_CPU, per half second) before: ${pp_before:-n/a}; after: ${pp_after:-n/a}" >>"$OUT/setup.txt"
        kill -TERM "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
        pids=()
    done
    summarize_interleaved "$OUT" | tee "$OUT/summary.md"
    log "vhost-compare: summary in $OUT/summary.md"
    exit 0
fi

for q in $QUEUES; do
    variants=("qsd")
    for t in $THREADINGS; do
        for p in $PROTOS; do variants+=("frodo-$p-$t"); done
        [[ "$WITH_UP" == 1 ]] && variants+=("up-blk-$t")
    done
    for (( rep = 1; rep <= REPS; rep++ )); do
        order=("${variants[@]}")
        if (( rep % 2 == 0 )); then # reverse every other rep: neither side always goes first
            order=(); for (( i = ${#variants[@]} - 1; i >= 0; i-- )); do order+=("${variants[i]}"); done
        fi
        log "queues $q, rep $rep/$REPS"
        for v in "${order[@]}"; do
            IFS=- read -r kind proto threading <<<"$v"
            case "$kind" in
                qsd) start_qsd "$q" ;;
                frodo) start_frodo "$q" "$threading" "$proto" ;;
                up) start_up "$q" "$threading" ;;
            esac
            SERVER_PID="$LAUNCHED"; LAUNCHED=""
            for qd in $CASES; do measure "$v" "$q" "$qd" "$rep"; done
            stop_server
        done
    done
done

summarize "$OUT" | tee "$OUT/summary.md"
log "vhost-compare: summary in $OUT/summary.md"
