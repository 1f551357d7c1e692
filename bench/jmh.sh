#!/usr/bin/env bash
# Runs the JMH microbenchmarks of bench/ (io.dsf.bench.jmh) with org.openjdk.jmh.Main.
#   bench/jmh.sh                          all benchmarks, their annotated defaults (1 fork, 3x1 s warm-up, 5x1 s)
#   bench/jmh.sh -prof gc NullSubmit      one class, with allocation per operation (must be ~0 B/op)
#   bench/jmh.sh -l                       list benchmarks;  bench/jmh.sh -h  JMH's options
# Builds bench/ and what it needs first (Maven `package`, never `install`); DSF_SKIP_BUILD=1 skips that.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"

jdk_major() {
    local v
    [[ -f "$1/release" && -x "$1/bin/java" ]] || { echo 0; return; }
    v="$(sed -n 's/^JAVA_VERSION="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$1/release" | head -n1)"
    v="${v%%[.+-]*}"
    [[ "$v" =~ ^[0-9]+$ ]] && echo "$v" || echo 0
}
JDK=""
if [[ -n "${JAVA_HOME:-}" ]] && (( $(jdk_major "$JAVA_HOME") >= 25 )); then JDK="$JAVA_HOME"
else
    best=0
    for d in /usr/lib/jvm/*; do
        v="$(jdk_major "$d")"
        if (( v >= 25 && v > best )); then JDK="$d"; best="$v"; fi
    done
fi
[[ -n "$JDK" ]] || { echo "jmh.sh: no JDK >= 25 in JAVA_HOME or /usr/lib/jvm/*: install one (e.g. Temurin 25) or set JAVA_HOME" >&2; exit 1; }

if [[ "${DSF_SKIP_BUILD:-0}" != 1 ]]; then
    echo "jmh.sh: building bench/ ..." >&2
    (cd "$ROOT" && JAVA_HOME="$JDK" ./mvnw -q -B -pl bench -am -DskipTests package) 1>&2
fi
shopt -s nullglob
jars=("$ROOT"/bench/target/dsf-bench-*.jar)
(( ${#jars[@]} )) || { echo "jmh.sh: bench/target/dsf-bench-*.jar missing: run without DSF_SKIP_BUILD=1" >&2; exit 1; }
exec "$JDK/bin/java" --enable-native-access=ALL-UNNAMED --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -cp "${jars[0]}:$ROOT/bench/target/lib/*" org.openjdk.jmh.Main "$@"
