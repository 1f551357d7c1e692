#!/usr/bin/env bash
# Stargate (a vDisk served in-process) against the raw device under it, side by side in one run.
# Every case runs its sides alternately, --reps times, each a separate `./dsf bench --json`
# process; the table gives the median ratio over the reps (min-max). Cases:
#   mem QD32     4 KiB randwrite / randread IOPS, vdisk:mem vs device:mem, 1 shard, spin
#   mem QD1      4 KiB randwrite / randread p50 latency, same pair; randwrite also against the raw device's
#                write + flush (--flush-each-write: a vDisk acknowledges durable writes), as for uring
#   null QD32    vdisk:null: IOPS (software overhead: the device does nothing), vs device:null
#   uring        4 KiB randwrite / randread QD32 IOPS and QD1 p50, vdisk:uring vs device:uring (files
#                under bench/target, each written in full once first); randwrite also against the raw
#                device's write + flush, at QD32 and QD1
#   depth        randread QD1 p50 and p99 on a vDisk with 100 snapshots in its chain vs none, interleaved in
#                one process (`dsf bench --vs`, DEPTH_ROUNDS rounds of 250 ms slices, default 40) with a
#                second vDisk with none as the noise control; depth-runs: the same as separate processes
#   shards       randwrite / randread QD32 IOPS with 1, 2 and 4 shards (ratio to 1 shard); SHARDS_IDLE=spin,block
#                runs it under each idle strategy (default spin: on 2 vCPUs, 2+ spinning shards and the
#                spinning job thread outnumber the CPUs)
#   ab           with --baseline DIR (another checkout, built): this tree's vDisk, the baseline's vDisk
#                and the raw device in turn, for mem, null and uring (AB_DEVICES=mem,null,uring) QD32
#                randwrite / randread; gives each
#                vDisk's ratio to raw and this tree's ratio to the baseline, all from the same reps
#   cpu          with --baseline DIR: the shard thread's CPU time per I/O (VDiskBenchmark cpu: writes
#                counted until the OpLog is drained, reads after a prefill), this tree against the
#                baseline's Stargate, alternating, on mem and null (AB_DEVICES=mem,null,uring), randwrite
#                and randread (CPU_RW=randread for reads only; CPU_JAVA_OPTS=-Ddsf.cpu.prefillWrites=true
#                for overwrites of a written vDisk); a busy machine disturbs it far less than
#                throughput
# Usage: bench/stargate-compare.sh [--reps N] [--seconds S] [--cases mem,null,uring,depth,depth-runs,shards,ab,cpu]
#                                  [--baseline DIR] [--cpu-ios N] [--json]
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=3 SECONDS_=3 CASES=mem,null,uring,depth,shards JSON=0 BASELINE="" CPU_IOS=200000
while (($#)); do
    case "$1" in
        --reps) REPS=$2; shift 2 ;;
        --seconds) SECONDS_=$2; shift 2 ;;
        --cases) CASES=$2; shift 2 ;;
        --json) JSON=1; shift ;;
        --baseline) BASELINE=$(cd "$2" && pwd); shift 2 ;;
        --cpu-ios) CPU_IOS=$2; shift 2 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
./dsf bench --help >/dev/null # builds once, before anything is timed
if [[ -n "$BASELINE" ]]; then "$BASELINE/dsf" bench --help >/dev/null; fi
if [[ ",$CASES," == *,cpu,* ]]; then # the harness class comes from this tree; each side its own Stargate
    . scripts/jdk.sh && dsf_find_jdk && export JAVA_HOME
    ./mvnw -q -B -o -pl bench -am -DskipTests package >&2
    if [[ -n "$BASELINE" ]]; then (cd "$BASELINE" && ./mvnw -q -B -o -pl bench -am -DskipTests package >&2); fi
fi
mkdir -p bench/target
export REPS SECONDS_ CASES JSON BASELINE CPU_IOS
exec python3 - <<'PY'
import json, os, statistics, subprocess, sys

reps, secs, cases, as_json = int(os.environ["REPS"]), os.environ["SECONDS_"], os.environ["CASES"].split(","), os.environ["JSON"] == "1"
tgt = os.path.abspath("bench/target")

def run(target, rw, qd, shards=1, snapshots=0, size="1g", tree=".", idle="spin", extra=()):
    env = dict(os.environ, DSF_SKIP_BUILD="1")
    if snapshots:
        env["DSF_JAVA_OPTS"] = (env.get("DSF_JAVA_OPTS", "") + f" -Ddsf.bench.snapshots={snapshots}").strip()
    cmd = [os.path.join(tree, "dsf"), "bench", "--target", target, "--rw", rw, "--iodepth", str(qd), "--bs", "4k", "--runtime", secs,
           "--ramp", "1", "--idle", idle, "--size", size, "--json", "--progress-interval", "0", "--force"]
    if target.startswith("vdisk:"):
        cmd += ["--shards", str(shards)]
    cmd += list(extra)
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])

rows = []  # (case, measure, values-of-ratio, detail)

def pair(case, measure, a, b, key, invert=False):
    """a = (label, thunk) candidate, b = baseline; alternate, ratio a/b of key."""
    ratios, av, bv = [], [], []
    for _ in range(reps):
        ra, rb = a[1](), b[1]()
        x, y = ra[key], rb[key]
        av.append(x); bv.append(y)
        ratios.append(x / y if y else float("nan"))
    rows.append((case, measure, ratios, f"{a[0]} {statistics.median(av):,.1f} vs {b[0]} {statistics.median(bv):,.1f} ({key})"))
    print(f"# {case} {measure}: ratio median {statistics.median(ratios):.3f} [{min(ratios):.3f}-{max(ratios):.3f}] {rows[-1][3]}", file=sys.stderr)

if "mem" in cases:
    for rw in ("randwrite", "randread"):
        pair("mem", f"{rw} QD32 IOPS", ("vdisk", lambda rw=rw: run("vdisk:mem:2g", rw, 32)), ("raw", lambda rw=rw: run("device:mem:2g", rw, 32)), "iops")
        pair("mem", f"{rw} QD1 p50", ("vdisk", lambda rw=rw: run("vdisk:mem:2g", rw, 1)), ("raw", lambda rw=rw: run("device:mem:2g", rw, 1)), "lat_p50_us")
        if rw == "randwrite": # a vDisk acknowledges durable writes: the raw peer that waits for its flush too
            pair("mem", f"{rw} QD1 p50 vs raw write + flush", ("vdisk", lambda rw=rw: run("vdisk:mem:2g", rw, 1)),
                 ("raw+flush", lambda rw=rw: run("device:mem:2g", rw, 1, extra=["--flush-each-write"])), "lat_p50_us")
if "null" in cases:
    for rw in ("randwrite", "randread"):
        pair("null", f"{rw} QD32 IOPS", ("vdisk", lambda rw=rw: run("vdisk:null:2g", rw, 32)), ("raw", lambda rw=rw: run("device:null:2g", rw, 32)), "iops")
def written_image(path, size=2 << 30):
    """A file written in full once (zeros), as a block device is: a sparse file's first write to a block
    allocates it, and the flush after it commits the filesystem's journal; both sides get such a file."""
    st = os.stat(path) if os.path.exists(path) else None
    if st is None or st.st_size != size or st.st_blocks * 512 < size:
        print(f"# writing {path} in full once ({size >> 20} MiB)", file=sys.stderr)
        subprocess.run(["dd", "if=/dev/zero", f"of={path}", "bs=1M", f"count={size >> 20}", "oflag=direct", "status=none"], check=True)
    return path

if "uring" in cases:
    img_v = f"uring:{written_image(tgt + '/sg-vdisk.img')}?size=2g"
    img_r = f"uring:{written_image(tgt + '/sg-raw.img')}?size=2g"
    for rw in ("randwrite", "randread"):
        pair("uring", f"{rw} QD32 IOPS", ("vdisk", lambda rw=rw: run("vdisk:" + img_v, rw, 32)), ("raw", lambda rw=rw: run("device:" + img_r, rw, 32)), "iops")
        if rw == "randwrite": # a vDisk acknowledges durable writes: the raw peer that waits for its flush too
            pair("uring", f"{rw} QD32 IOPS vs raw write + flush", ("vdisk", lambda rw=rw: run("vdisk:" + img_v, rw, 32)),
                 ("raw+flush", lambda rw=rw: run("device:" + img_r, rw, 32, extra=["--flush-each-write"])), "iops")
        pair("uring", f"{rw} QD1 p50", ("vdisk", lambda rw=rw: run("vdisk:" + img_v, rw, 1)), ("raw", lambda rw=rw: run("device:" + img_r, rw, 1)), "lat_p50_us")
        if rw == "randwrite":
            pair("uring", f"{rw} QD1 p50 vs raw write + flush", ("vdisk", lambda rw=rw: run("vdisk:" + img_v, rw, 1)),
                 ("raw+flush", lambda rw=rw: run("device:" + img_r, rw, 1, extra=["--flush-each-write"])), "lat_p50_us")
def interleaved(targets, rw, qd, rounds, size="256m", slice_ms=250, idle="spin"):
    """One `dsf bench --vs` process: every target open at once, driven in turn a slice each per round."""
    env = dict(os.environ, DSF_SKIP_BUILD="1")
    cmd = ["./dsf", "bench", "--target-name", targets[0][0], "--target", targets[0][1]]
    for name, t in targets[1:]:
        cmd += ["--vs", f"{name}={t}"]
    cmd += ["--rw", rw, "--iodepth", str(qd), "--latency-iodepth", str(qd), "--bs", "4k", "--size", size, "--rounds", str(rounds),
            "--slice-ms", str(slice_ms), "--shards", "1", "--idle", idle]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    return {d["name"]: d for d in (json.loads(l) for l in p.stdout.splitlines() if l.startswith("{"))}

if "depth" in cases:
    # interleaved: the two depths (and a second depth-0 vDisk, the noise control) in one process, a
    # 250 ms slice each per round, so a slow stretch of the machine hits all alike; per rep the median
    # over the rounds of each round's ratio to depth 0. Every side reads and rewrites the same 100
    # pieces after the prefill; only depth100 takes a snapshot after each
    rounds = int(os.environ.get("DEPTH_ROUNDS", "40"))
    got = {k: [] for k in ("d50", "d99", "c50", "c99")}
    for _ in range(reps):
        res = interleaved([("depth0", "vdisk:mem:2g?rewrites=100"), ("depth100", "vdisk:mem:2g?snapshots=100"), ("depth0b", "vdisk:mem:2g?rewrites=100")], "randread", 1, rounds)
        got["d50"].append(res["depth100"]["lat_p50_round_ratio_median"]); got["d99"].append(res["depth100"]["lat_p99_round_ratio_median"])
        got["c50"].append(res["depth0b"]["lat_p50_round_ratio_median"]); got["c99"].append(res["depth0b"]["lat_p99_round_ratio_median"])
        print(f"# depth rep: depth100 p50 {got['d50'][-1]:.3f} p99 {got['d99'][-1]:.3f}; control depth0b p50 {got['c50'][-1]:.3f} p99 {got['c99'][-1]:.3f}"
              f" (depth0 p50 {res['depth0']['lat_p50_us']:.2f} us)", file=sys.stderr)
    for key, label in (("d50", "randread QD1 p50, 100 snapshots vs 0, interleaved"), ("d99", "randread QD1 p99, 100 snapshots vs 0, interleaved"),
                       ("c50", "randread QD1 p50, control: a second vDisk with none vs the first"), ("c99", "randread QD1 p99, control")):
        rows.append(("depth", label, got[key], f"{rounds} rounds of 250 ms slices per rep; per rep the median of the per-round ratios"))
if "depth-runs" in cases:  # the earlier form: separate processes, alternating
    for key in ("lat_p50_us", "lat_p99_us"):
        pair("depth-runs", f"randread QD1 {key[4:7]}, 100 snapshots vs 0",
             ("depth100", lambda: run("vdisk:mem:2g", "randread", 1, snapshots=100, size="256m")),
             ("depth0", lambda: run("vdisk:mem:2g", "randread", 1, size="256m")), key)
if "shards" in cases:
    for idle in os.environ.get("SHARDS_IDLE", "spin").split(","):
        for rw in ("randwrite", "randread"):
            for n in (2, 4):
                pair("shards", f"{rw} QD32 IOPS, {n} shards vs 1, idle {idle}",
                     (f"{n} shards", lambda rw=rw, n=n, idle=idle: run("vdisk:mem:2g", rw, 32, shards=n, idle=idle)),
                     ("1 shard", lambda rw=rw, idle=idle: run("vdisk:mem:2g", rw, 32, shards=1, idle=idle)), "iops")

def triple(case, measure, target, rw, qd, raw_target, key="iops"):
    """This tree's vDisk, the baseline's vDisk, the raw device, in turn (order rotated every rep)."""
    base = os.environ["BASELINE"]
    sides = [("new", lambda: run(target, rw, qd)), ("base", lambda: run(target, rw, qd, tree=base)), ("raw", lambda: run(raw_target, rw, qd))]
    vals = {"new": [], "base": [], "raw": []}
    for rep in range(reps):
        for label, thunk in sides[rep % 3:] + sides[:rep % 3]:
            vals[label].append(thunk()[key])
    n, b, r = vals["new"], vals["base"], vals["raw"]
    for label, num, den in (("new vDisk / raw", n, r), ("baseline vDisk / raw", b, r), ("new / baseline", n, b)):
        ratios = [x / y if y else float("nan") for x, y in zip(num, den)]
        rows.append((case, f"{measure}: {label}", ratios,
                     f"new {statistics.median(n):,.0f}, baseline {statistics.median(b):,.0f}, raw {statistics.median(r):,.0f} ({key})"))
        print(f"# {case} {measure} {label}: {statistics.median(ratios):.3f} [{min(ratios):.3f}-{max(ratios):.3f}] {rows[-1][3]}", file=sys.stderr)

if "ab" in cases:
    if not os.environ["BASELINE"]:
        sys.exit("case ab needs --baseline DIR")
    devs = os.environ.get("AB_DEVICES", "mem,null,uring").split(",")
    for dev in devs:
        for rw in ("randwrite", "randread"):
            if dev == "uring":
                triple("ab uring", f"{rw} QD32 IOPS", f"vdisk:uring:{tgt}/sg-ab-vdisk.img?size=2g", rw, 32, f"device:uring:{tgt}/sg-ab-raw.img?size=2g")
            else:
                triple("ab " + dev, f"{rw} QD32 IOPS", f"vdisk:{dev}:2g", rw, 32, f"device:{dev}:2g")

def cpu_run(tree, dev, rw):
    jar = [f for f in os.listdir("bench/target") if f.startswith("dsf-bench-") and f.endswith(".jar")][0]
    cmd = [os.path.join(os.environ.get("JAVA_HOME", "/usr"), "bin", "java"), "--enable-native-access=ALL-UNNAMED",
           *os.environ.get("CPU_JAVA_OPTS", "").split(),
           "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", f"-Ddsf.native.dir={tree}/native/target",
           "-cp", f"bench/target/{jar}:{tree}/bench/target/lib/*", "io.dsf.bench.jmh.VDiskBenchmark", "cpu", dev, rw, os.environ["CPU_IOS"]]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])

if "cpu" in cases:
    if not os.environ["BASELINE"]:
        sys.exit("case cpu needs --baseline DIR")
    here, base = os.getcwd(), os.environ["BASELINE"]
    for dev in os.environ.get("AB_DEVICES", "mem,null").split(","):
        uri = f"uring:{tgt}/sg-cpu.img?size=2g" if dev == "uring" else f"{dev}:2g"
        for rw in os.environ.get("CPU_RW", "randwrite,randread").split(","):
            n, b = [], []
            for rep in range(reps):
                order = [(n, here), (b, base)] if rep % 2 == 0 else [(b, base), (n, here)]
                for vals, tree in order:
                    vals.append(cpu_run(tree, uri, rw)["shard_cpu_ns_per_io"])
            ratios = [x / y for x, y in zip(n, b)]
            rows.append((f"cpu {dev}", f"{rw} shard CPU ns per I/O: new / baseline", ratios,
                         f"new {statistics.median(n):,.0f} ns, baseline {statistics.median(b):,.0f} ns"))
            print(f"# cpu {dev} {rw}: {statistics.median(ratios):.3f} [{min(ratios):.3f}-{max(ratios):.3f}] {rows[-1][3]} new={n} base={b}", file=sys.stderr)

print("| case | measure | ratio median (min-max) | medians |")
print("| --- | --- | --- | --- |")
for case, measure, r, detail in rows:
    print(f"| {case} | {measure} | {statistics.median(r):.2f} ({min(r):.2f}-{max(r):.2f}) | {detail} |")
if as_json:
    print(json.dumps([{"case": c, "measure": m, "ratios": r, "detail": d} for c, m, r, d in rows]))
PY
