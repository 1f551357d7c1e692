#!/usr/bin/env bash
# rf-compare.sh: the cost of synchronous replication, side by side in one run (issue 6's benchmark).
#
# Three `./dsf up` nodes (A, B, C) on loopback over the tcp transport, each with its own device of
# the same kind; the client, `./dsf bench --target vhost-user-blk:A's socket`, writes 4 KiB at random
# into A's vDisk. Per repetition (the order of the cases reversed every other rep):
#   rf1, rf2, rf3  the three nodes started fresh with --rf N (nothing else changed), then
#                  randwrite 4 KiB at iodepth 1 and at iodepth 32 against A, then the nodes stopped
#   ping           a raw TCP ping-pong between two processes (io.dsf.bench.rdma.TcpPingPong):
#                  --ping-request bytes out (default 4192: 4 KiB + the 96 B replication trailer),
#                  --ping-response bytes back (default 96: the trailer-only ACK), one at a time
# and the ratios, per rep (each against the same rep's reference, then the median over the reps):
#   RF2 latency at iodepth 1 / (RF1 latency at iodepth 1 + ping-pong round trip), p50 and p99
#       (target <= 1.2; the p99 "sum" is a sum of percentiles, an approximation)
#   RF2 and RF3 IOPS at iodepth 32 / RF1 IOPS at iodepth 32
#
# usage: bench/rf-compare.sh [--reps 3] [--seconds 5] [--ramp 8] [--device tmpfs|mem|disk]
#            [--cases "rf1 rf2 rf3 ping"] [--shards 2] [--vdisk-size 1g] [--region 1g]
#            [--node-idle block] [--client-idle block] [--ping-request 4192] [--ping-response 96]
#            [--owner-cpu N] [--peer-cpu N] [--client-cpu N] [--ping-cpus "0 1"|none] [--jfr]
#        bench/rf-compare.sh --summarize DIR
# --device: tmpfs (default) a sparse file: device per node in /dev/shm (the file backend's real
#   system calls, no disk noise); mem: mem:SIZE devices; disk: sparse files under bench/.bench-out.
# --owner-cpu/--peer-cpu/--client-cpu pin A, B and C, and the bench client with taskset; unpinned by
#   default (say so when quoting numbers). --ping-cpus pins the ping-pong's client and server: by
#   default to the owner's and peers' CPUs when those are pinned, else to CPUs 0 and 1 (apart, as a
#   network hop is); "none" leaves them unpinned.
# --jfr records a Java Flight Recording (settings=profile) of A in every rf2 run (rf2-rN-A.jfr, dumped
#   with jcmd before A stops), e.g. `jfr print --events jdk.ExecutionSample FILE`.
# RF_JAVA_OPTS (JVM options) and RF_UP_OPTS (extra `dsf up` flags) reach every node.
# Raw JSON of every run, each node's stderr and the summary go to bench/.bench-out/rf-compare-DATE/.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
REPS=3
SECONDS_RUN=5
RAMP=8 # seconds of load before measuring: fresh node JVMs keep C2-compiling the replication paths for ~10 s
DEVICE=tmpfs
CASES="rf1 rf2 rf3 ping"
SHARDS=2
VDISK_SIZE=1g
REGION=1g
NODE_IDLE=block
CLIENT_IDLE=block
PING_REQUEST=4192
PING_RESPONSE=96
OWNER_CPU=""
PING_CPUS="" # "CLIENT SERVER", or "none"; default: the owner/peer CPUs if pinned, else 0 and 1
PEER_CPU=""
CLIENT_CPU=""
JFR=0
DEVICE_SIZE=4g

summarize() { # $1 output directory of a run: prints the Markdown summary
python3 - "$1" <<'PY'
import json, glob, os, statistics, sys, re
out = sys.argv[1]
runs = {}
for f in glob.glob(os.path.join(out, '*-r*.json')):
    m = re.match(r'(rf\d-qd\d+|ping)-r(\d+)\.json$', os.path.basename(f))
    if m: runs[(m.group(1), int(m.group(2)))] = json.loads(open(f).read())
reps = sorted({r for _, r in runs})
def med(vals):
    return (statistics.median(vals), min(vals), max(vals)) if vals else None
def fmt(t, nd=1):
    if t is None: return '-'
    m, lo, hi = t
    return f"{m:.{nd}f} ({lo:.{nd}f}-{hi:.{nd}f})"
def col(key, field):
    return med([runs[(key, r)][field] for r in reps if (key, r) in runs])
print(open(os.path.join(out, 'setup.txt')).read())
loads = [json.loads(l) for l in open(os.path.join(out, 'runs.jsonl'))] if os.path.exists(os.path.join(out, 'runs.jsonl')) else []
if loads:
    l1 = [float(x['loadavg'].split()[0]) for x in loads]
    print(f"Load average (1 min) at the start of the measurements: {min(l1):.2f}-{max(l1):.2f} (median {statistics.median(l1):.2f}); "
          f"CPU busy during them: {loads[0]['busy_during']} ... {loads[-1]['busy_during']} (first ... last run).")
    print()
print(f"Medians over {len(reps)} reps (min-max). Latency is submit-to-completion at the client (`dsf bench` over vhost-user-blk),")
print("the ping-pong's is one request/answer round trip; both in microseconds.")
print()
print("| case | IOPS | p50 us | p99 us | errors |")
print("|---|---:|---:|---:|---:|")
for key in ['rf1-qd1', 'rf2-qd1', 'rf3-qd1', 'ping', 'rf1-qd32', 'rf2-qd32', 'rf3-qd32']:
    rs = [runs[(key, r)] for r in reps if (key, r) in runs]
    if not rs: continue
    if key == 'ping':
        name = f"raw TCP ping-pong, {rs[0]['request']} B out, {rs[0]['response']} B back"
    else:
        rf, qd = key.split('-qd')
        name = f"{rf.upper()} randwrite 4 KiB, iodepth {qd}"
    iops = '-' if key == 'ping' else fmt(col(key, 'iops'), 0)
    errs = '-' if key == 'ping' else f"{sum(x['errors'] for x in rs):.0f}"
    print(f"| {name} | {iops} | {fmt(col(key, 'lat_p50_us'))} | {fmt(col(key, 'lat_p99_us'))} | {errs} |")
print()
def ratio_rows():
    rows = []
    for r in reps:
        row = {'rep': r}
        if all((k, r) in runs for k in ('rf1-qd1', 'rf2-qd1', 'ping')):
            for p in ('lat_p50_us', 'lat_p99_us'):
                row['lat_' + p[4:7]] = runs[('rf2-qd1', r)][p] / (runs[('rf1-qd1', r)][p] + runs[('ping', r)][p])
        if all((k, r) in runs for k in ('rf1-qd1', 'rf3-qd1', 'ping')):
            row['lat3_p50'] = runs[('rf3-qd1', r)]['lat_p50_us'] / (runs[('rf1-qd1', r)]['lat_p50_us'] + runs[('ping', r)]['lat_p50_us'])
        for rf in ('rf2', 'rf3'):
            if (rf + '-qd32', r) in runs and ('rf1-qd32', r) in runs:
                row['iops_' + rf] = runs[(rf + '-qd32', r)]['iops'] / runs[('rf1-qd32', r)]['iops']
        rows.append(row)
    return rows
rows = ratio_rows()
def agg(k):
    return med([row[k] for row in rows if k in row])
def verdict(t, limit, below):
    if t is None: return ''
    ok = t[0] <= limit if below else t[0] >= limit
    return ' ok' if ok else ' MISSED'
print("| ratio (per rep, then median (min-max) over the reps) | value | target |")
print("|---|---:|---|")
t = agg('lat_p50'); print(f"| RF2 p50 at iodepth 1 / (RF1 p50 + ping-pong p50) | **{fmt(t, 2)}**{verdict(t, 1.2, True)} | <= 1.2 |")
t = agg('lat_p99'); print(f"| RF2 p99 at iodepth 1 / (RF1 p99 + ping-pong p99) | **{fmt(t, 2)}**{verdict(t, 1.2, True)} | <= 1.2 |")
t = agg('lat3_p50'); print(f"| RF3 p50 at iodepth 1 / (RF1 p50 + ping-pong p50) | {fmt(t, 2)} | (information) |")
t = agg('iops_rf2'); print(f"| RF2 IOPS / RF1 IOPS at iodepth 32 | **{fmt(t, 2)}** | (reported) |")
t = agg('iops_rf3'); print(f"| RF3 IOPS / RF1 IOPS at iodepth 32 | **{fmt(t, 2)}** | (reported) |")
print()
print("Per rep:")
print()
print("| rep | RF2 p50 ratio | RF2 p99 ratio | RF3 p50 ratio | RF2/RF1 IOPS | RF3/RF1 IOPS |")
print("|---:|---:|---:|---:|---:|---:|")
for row in rows:
    g = lambda k: f"{row[k]:.2f}" if k in row else '-'
    print(f"| {row['rep']} | {g('lat_p50')} | {g('lat_p99')} | {g('lat3_p50')} | {g('iops_rf2')} | {g('iops_rf3')} |")
PY
}

die() { printf 'rf-compare: %s\n' "$*" >&2; exit 1; }
log() { printf '%s\n' "$*" >&2; }

ARGS=("$@")
while (( $# )); do
    case "$1" in
        --reps) REPS="$2"; shift 2 ;;
        --seconds|--runtime) SECONDS_RUN="$2"; shift 2 ;;
        --ramp) RAMP="$2"; shift 2 ;;
        --device) DEVICE="$2"; shift 2 ;;
        --cases) CASES="$2"; shift 2 ;;
        --shards) SHARDS="$2"; shift 2 ;;
        --vdisk-size) VDISK_SIZE="$2"; shift 2 ;;
        --region) REGION="$2"; shift 2 ;;
        --node-idle) NODE_IDLE="$2"; shift 2 ;;
        --client-idle) CLIENT_IDLE="$2"; shift 2 ;;
        --ping-request) PING_REQUEST="$2"; shift 2 ;;
        --ping-response) PING_RESPONSE="$2"; shift 2 ;;
        --owner-cpu) OWNER_CPU="$2"; shift 2 ;;
        --ping-cpus) PING_CPUS="$2"; shift 2 ;;
        --peer-cpu) PEER_CPU="$2"; shift 2 ;;
        --client-cpu) CLIENT_CPU="$2"; shift 2 ;;
        --jfr) JFR=1; shift ;;
        --summarize) summarize "$2"; exit 0 ;;
        -h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "--reps must be a positive integer"
[[ "$SECONDS_RUN" =~ ^[1-9][0-9]*$ && "$RAMP" =~ ^[0-9]+$ ]] || die "--seconds (>= 1) and --ramp are whole seconds"
[[ "$SHARDS" =~ ^[1-9][0-9]*$ ]] || die "--shards must be a positive integer"
for c in $CASES; do [[ "$c" =~ ^(rf1|rf2|rf3|ping)$ ]] || die "--cases: rf1 rf2 rf3 ping, not '$c'"; done
case "$DEVICE" in tmpfs|mem|disk) ;; *) die "--device must be tmpfs, mem or disk" ;; esac
NCPU=$(nproc)
# The ping-pong crosses CPUs like a replicated write crosses nodes: unpinned, the scheduler sometimes
# runs both ends on one vCPU and the round trip drops from ~70 to ~16 us here (measured), which
# says nothing about a network hop. So its two ends are pinned apart unless told otherwise.
if [[ -z "$PING_CPUS" ]]; then
    if [[ -n "$OWNER_CPU$PEER_CPU" ]]; then PING_CPUS="${OWNER_CPU:-none} ${PEER_CPU:-none}"
    elif (( NCPU >= 2 )); then PING_CPUS="0 1"
    else PING_CPUS="none none"; fi
fi
[[ "$PING_CPUS" == none ]] && PING_CPUS="none none"
read -r PING_CLIENT_CPU PING_SERVER_CPU <<<"$PING_CPUS"
[[ "$PING_CLIENT_CPU" == none ]] && PING_CLIENT_CPU=""
[[ "${PING_SERVER_CPU:-none}" == none ]] && PING_SERVER_CPU=""
for c in "$OWNER_CPU" "$PEER_CPU" "$CLIENT_CPU" "$PING_CLIENT_CPU" "$PING_SERVER_CPU"; do
    [[ -z "$c" ]] || { [[ "$c" =~ ^[0-9]+$ ]] && (( c < NCPU )); } || die "CPU numbers must be below $NCPU"
done
command -v python3 >/dev/null 2>&1 || die "python3 is needed (free ports, the summary)"
command -v taskset >/dev/null 2>&1 || die "taskset is missing (util-linux)"

. "$ROOT/scripts/jdk.sh"
dsf_find_jdk || exit 1
log "building dsf if needed..."
"$ROOT/dsf" --version >/dev/null 2>&1 || "$ROOT/dsf" --help >/dev/null
shopt -s nullglob
jars=("$ROOT"/node/target/dsf-node-*.jar)
shopt -u nullglob
(( ${#jars[@]} )) || die "node/target/dsf-node-*.jar is missing after the build"
CP="${jars[0]}:$ROOT/node/target/lib/*"
JAVA=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED)

OUT="$ROOT/bench/.bench-out/rf-compare-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
case "$DEVICE" in
    tmpfs) [[ -d /dev/shm && -w /dev/shm ]] || die "/dev/shm is not writable: use --device mem or disk"
           RUN="$(mktemp -d /dev/shm/dsf-rf-compare.XXXXXX)" ;;
    *) RUN="$(mktemp -d /tmp/dsf-rf-compare.XXXXXX)" ;;
esac
DATA="$RUN"
[[ "$DEVICE" == disk ]] && { DATA="$OUT/data"; mkdir -p "$DATA"; }
NODE_PIDS=()
PING_PID=""
cleanup() {
    local p
    for p in "${NODE_PIDS[@]}" $PING_PID; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${NODE_PIDS[@]}" $PING_PID; do wait "$p" 2>/dev/null || true; done
    rm -rf "$RUN"
    [[ "$DEVICE" == disk ]] && rm -rf "$DATA"
    return 0
}
trap cleanup EXIT

pin() { # $1 cpu or empty: the command prefix
    if [[ -n "$1" ]]; then echo "taskset -c $1"; fi
}

free_ports() { # prints N free loopback ports
    python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(('127.0.0.1', 0)); socks.append(s)
print(' '.join(str(s.getsockname()[1]) for s in socks))
PY
}

device_uri() { # $1 node dir
    case "$DEVICE" in
        tmpfs|disk) echo "file:$1/dev0.img?size=$DEVICE_SIZE" ;;
        mem) echo "mem:$DEVICE_SIZE" ;;
    esac
}

cpu_busy() { # prints "cpuN busy%" for the interval since the previous call (from /proc/stat)
    python3 "$ROOT/bench/lib/cpu-busy.py" "$RUN/stat"
}

record_load() { # $1 label, $2 rep, $3 busy before, $4 busy during
    printf '{"label":"%s","rep":%s,"loadavg":"%s","busy_before":"%s","busy_during":"%s"}\n' \
        "$1" "$2" "$(cut -d' ' -f1-3 /proc/loadavg)" "$3" "$4" >>"$OUT/runs.jsonl"
}

start_cluster() { # $1 rf, $2 rep: starts A, B, C fresh; sets SOCK (A's vhost-user-blk) and ADMIN_A
    local rf="$1" rep="$2" ids=(A B C) ports cpus i j peers dir opts line
    read -r -a ports <<<"$(free_ports 3)"
    cpus=("$OWNER_CPU" "$PEER_CPU" "$PEER_CPU")
    NODE_PIDS=()
    for i in 0 1 2; do
        peers=""
        for j in 0 1 2; do (( j == i )) || peers+="${peers:+,}${ids[j]}@127.0.0.1:${ports[j]}"; done
        dir="$DATA/rf$rf-r$rep-${ids[i]}"
        rm -rf "$dir"; mkdir -p "$dir"
        opts="${RF_JAVA_OPTS:-}"
        if [[ "$JFR" == 1 && "$rf" == 2 && $i == 0 ]]; then
            opts+=" -XX:StartFlightRecording=name=rf,settings=profile"
        fi
        # shellcheck disable=SC2046
        $(pin "${cpus[i]}") env DSF_SKIP_BUILD=1 DSF_JAVA_OPTS="$opts" "$ROOT/dsf" up --data "$dir" --device "$(device_uri "$dir")" \
            --vdisk "d0:$VDISK_SIZE" --queues 1 --shards "$SHARDS" --idle "$NODE_IDLE" \
            --node-id "${ids[i]}" --listen "127.0.0.1:${ports[i]}" --peers "$peers" --rf "$rf" --transport tcp ${RF_UP_OPTS:-} \
            >"$dir/up.out" 2>"$OUT/rf$rf-r$rep-${ids[i]}.err" &
        NODE_PIDS+=($!)
    done
    for i in 0 1 2; do
        dir="$DATA/rf$rf-r$rep-${ids[i]}"
        for (( j = 0; j < 1200; j++ )); do
            grep -q '^endpoint admin ' "$dir/up.out" 2>/dev/null && break
            kill -0 "${NODE_PIDS[i]}" 2>/dev/null || { cat "$OUT/rf$rf-r$rep-${ids[i]}.err" >&2; die "node ${ids[i]} (rf $rf) exited"; }
            sleep 0.05
        done
        grep -q '^endpoint admin ' "$dir/up.out" || die "node ${ids[i]} printed no admin endpoint in 60 s"
    done
    dir="$DATA/rf$rf-r$rep-A"
    line=$(grep -m1 '^endpoint vhost-user-blk d0 ' "$dir/up.out")
    SOCK="${line##* }"
    line=$(grep -m1 '^endpoint admin ' "$dir/up.out")
    ADMIN_A="${line##* }"
}

stop_cluster() {
    local p
    for p in "${NODE_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${NODE_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    NODE_PIDS=()
}

bench_one() { # $1 rf, $2 iodepth, $3 rep
    local f="$OUT/rf$1-qd$2-r$3.json" before after
    before=$(cpu_busy)
    # shellcheck disable=SC2046
    if ! $(pin "$CLIENT_CPU") env DSF_SKIP_BUILD=1 "$ROOT/dsf" bench --target "vhost-user-blk:$SOCK" --rw randwrite --bs 4k \
            --iodepth "$2" --size "$REGION" --runtime "$SECONDS_RUN" --ramp "$RAMP" --idle "$CLIENT_IDLE" --json --no-prefill \
            --progress-interval 0 >"$RUN/client.out" 2>"$RUN/client.err"; then
        cat "$RUN/client.err" >&2
        tail -n 20 "$OUT/rf$1-r$3-A.err" >&2
        die "dsf bench failed: rf $1 iodepth $2 rep $3"
    fi
    after=$(cpu_busy)
    tail -n 1 "$RUN/client.out" >"$f"
    record_load "rf$1-qd$2" "$3" "$before" "$after"
    python3 - "$f" "rf$1 qd$2" <<'PY' >&2
import json, sys
j = json.loads(open(sys.argv[1]).read())
print(f"  {sys.argv[2]:<10} {j['iops']:>9.0f} IOPS  p50 {j['lat_p50_us']:8.1f} us  p99 {j['lat_p99_us']:8.1f} us  errors {j['errors']:.0f}")
PY
}

run_rf() { # $1 rf, $2 rep
    start_cluster "$1" "$2"
    bench_one "$1" 1 "$2"
    bench_one "$1" 32 "$2"
    # what A did: replication counters and peers (rf2/rf3 must have replicated every batch)
    DSF_SKIP_BUILD=1 "$ROOT/dsf" status --node "$ADMIN_A" --json >"$OUT/rf$1-r$2-A-status.json" 2>/dev/null || true
    DSF_SKIP_BUILD=1 "$ROOT/dsf" stats --node "$ADMIN_A" --json >"$OUT/rf$1-r$2-A-stats.json" 2>/dev/null || true
    python3 - "$OUT/rf$1-r$2-A-status.json" "$1" <<'PY' >&2 || die "rf $1 rep $2: A's status does not show replication at RF $1 (see $OUT)"
import json, sys
rf = int(sys.argv[2])
lines = open(sys.argv[1]).read().strip().splitlines()
st = json.loads(lines[-1]) if lines else {}
if rf == 1:
    sys.exit(0)
acked, failed = st.get('batches_acked', 0), st.get('batches_failed', 0)
shards = [s for v in st.get('vdisks', []) for s in v.get('shards', [])]
print(f"  A: rf {st.get('rf')}, batches acked {acked}, failed {failed}, shard peers {[s.get('peers') for s in shards]}")
ok = st.get('rf') == rf and acked > 0 and failed == 0 and shards and all(len(s.get('peers', [])) == rf - 1 for s in shards)
sys.exit(0 if ok else 1)
PY
    if [[ "$JFR" == 1 && "$1" == 2 ]]; then # dsf up halts on SIGTERM (no dump on exit): dump it while it runs
        "$JAVA_HOME/bin/jcmd" "${NODE_PIDS[0]}" JFR.dump name=rf "filename=$OUT/rf2-r$2-A.jfr" >/dev/null \
            || log "  (jcmd JFR.dump failed for A)"
    fi
    stop_cluster
}

run_ping() { # $1 rep
    local f="$OUT/ping-r$1.json" before after addr i
    rm -f "$RUN/ping.out" # the previous rep's "listening" line must not be read before the new server truncates it
    # shellcheck disable=SC2046
    $(pin "$PING_SERVER_CPU") "${JAVA[@]}" -cp "$CP" io.dsf.bench.rdma.TcpPingPong serve --listen 127.0.0.1:0 >"$RUN/ping.out" 2>"$RUN/ping.err" &
    PING_PID=$!
    for (( i = 0; i < 600; i++ )); do
        grep -q '^listening ' "$RUN/ping.out" 2>/dev/null && break
        kill -0 "$PING_PID" 2>/dev/null || { cat "$RUN/ping.err" >&2; die "the ping-pong server exited"; }
        sleep 0.05
    done
    addr=$(awk '/^listening /{print $2; exit}' "$RUN/ping.out")
    [[ -n "$addr" ]] || die "the ping-pong server did not listen in 30 s"
    before=$(cpu_busy)
    # shellcheck disable=SC2046
    $(pin "$PING_CLIENT_CPU") "${JAVA[@]}" -cp "$CP" io.dsf.bench.rdma.TcpPingPong client --connect "$addr" --request "$PING_REQUEST" \
        --response "$PING_RESPONSE" --seconds "$SECONDS_RUN" --ramp "$RAMP" --json >"$RUN/pingc.out" 2>"$RUN/pingc.err" \
        || { cat "$RUN/pingc.err" >&2; die "the ping-pong client failed"; }
    after=$(cpu_busy)
    kill -TERM "$PING_PID" 2>/dev/null || true
    wait "$PING_PID" 2>/dev/null || true
    PING_PID=""
    tail -n 1 "$RUN/pingc.out" >"$f"
    record_load ping "$1" "$before" "$after"
    python3 - "$f" <<'PY' >&2
import json, sys
j = json.loads(open(sys.argv[1]).read())
print(f"  ping       {j['round_trips']:>9} rtts  p50 {j['lat_p50_us']:8.1f} us  p99 {j['lat_p99_us']:8.1f} us")
PY
}

where() { if [[ -n "$1" ]]; then echo "on cpu $1"; else echo unpinned; fi; }
placement="A $(where "$OWNER_CPU"), B and C $(where "$PEER_CPU"), bench client $(where "$CLIENT_CPU"), ping-pong client $(where "$PING_CLIENT_CPU") and server $(where "$PING_SERVER_CPU")"
log "rf-compare: $REPS reps x ${SECONDS_RUN}s (+${RAMP}s ramp), device $DEVICE, $placement; raw results in $OUT"
{
    echo "date: $(date -Is)"
    echo "host: $(uname -r), $NCPU cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
    echo "java: $("$JAVA_HOME/bin/java" -version 2>&1 | head -n1)"
    echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (modified)')"
    echo "device: $DEVICE ($(device_uri NODEDIR)), vDisk d0:$VDISK_SIZE, $SHARDS shards, 1 queue, node idle $NODE_IDLE, client idle $CLIENT_IDLE, region $REGION"
    echo "placement: $placement"
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "command: $0 ${ARGS[*]}"
} >"$OUT/setup.txt"
cpu_busy >/dev/null

read -r -a cases <<<"$CASES"
for (( rep = 1; rep <= REPS; rep++ )); do
    order=("${cases[@]}")
    if (( rep % 2 == 0 )); then
        order=(); for (( i = ${#cases[@]} - 1; i >= 0; i-- )); do order+=("${cases[i]}"); done
    fi
    log "rep $rep/$REPS: ${order[*]}"
    for c in "${order[@]}"; do
        case "$c" in
            rf1|rf2|rf3) run_rf "${c#rf}" "$rep" ;;
            ping) run_ping "$rep" ;;
        esac
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/setup.txt"

summarize "$OUT" | tee "$OUT/summary.md"
log "rf-compare: summary in $OUT/summary.md"
