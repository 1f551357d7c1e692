# Sourced by ./dsf and ./run-tests: finds a JDK >= 25 and exports JAVA_HOME, or explains what to install.
dsf_java_major() { # $1 = JDK home; prints the feature version or nothing
    local rel="$1/release" v
    [ -x "$1/bin/java" ] || return 0
    if [ -f "$rel" ]; then
        v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$rel")
    else
        v=$("$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')
    fi
    echo "$v"
}

dsf_find_jdk() {
    local want=25 cand best="" bestv=0 v
    if [ -n "${JAVA_HOME:-}" ]; then
        v=$(dsf_java_major "$JAVA_HOME")
        if [ -n "$v" ] && [ "$v" -ge "$want" ]; then export JAVA_HOME; return 0; fi
    fi
    for cand in /usr/lib/jvm/*; do
        [ -d "$cand" ] || continue
        v=$(dsf_java_major "$cand")
        if [ -n "$v" ] && [ "$v" -ge "$want" ] && [ "$v" -gt "$bestv" ]; then best=$cand; bestv=$v; fi
    done
    if [ -n "$best" ]; then export JAVA_HOME="$best"; return 0; fi
    echo "dsf needs a JDK >= $want (found none: JAVA_HOME=${JAVA_HOME:-unset}, nothing suitable in /usr/lib/jvm)." >&2
    echo "Install one, e.g. Eclipse Temurin 25 (package temurin-25-jdk from the Adoptium apt repository), or set JAVA_HOME to it." >&2
    return 1
}

dsf_need_tools() { # checks the native toolchain the build uses
    local t missing=""
    for t in gcc make; do command -v "$t" >/dev/null 2>&1 || missing="$missing $t"; done
    if [ -n "$missing" ]; then
        echo "dsf builds native/ with gcc and make; missing:$missing. Install them: apt-get install -y gcc make" >&2
        return 1
    fi
}
