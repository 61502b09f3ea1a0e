#!/usr/bin/env bash
# Benchmark for issue 3: plain git (no filter) vs git-secret vs git-crypt,
# side by side in ONE run, with a do-nothing filter process
# (examples/identity_filter.rs) on the small-file and big-file rows: the floor under any
# filter process, i.e. what git's filter protocol itself costs here. Each round builds a fresh repository per setup and
# runs the workloads in the order plain, git-secret, git-crypt, so machine
# noise hits all three alike; medians over the rounds are reported.
#
#   scripts/bench.sh                  # full run: 2,000 files, 256 MiB, 1 GiB stream, 300 commits
#   BENCH_QUICK=1 scripts/bench.sh    # smoke run: 200 files, 16 MiB, 64 MiB stream, 30 commits
#   BENCH_RUNS=5 scripts/bench.sh     # rounds per measurement (default 3)
#   BENCH_KEEP=1 scripts/bench.sh     # keep the temp dir (path printed at the end)
#   TMPDIR=/dev/shm scripts/bench.sh  # run on tmpfs: less disk noise in the small-file rows
#   BENCH_BASELINE=HEAD~3 scripts/bench.sh   # also the git-secret of another revision
#
# BENCH_BASELINE=REV (any git revision: HEAD~3, a branch, a commit id) adds
# a setup "base": git-secret as built from REV, next to the one built from
# the work tree, so a change can be shown "no row slower" in one run. REV is
# built (cargo build --release, the same ~/.cargo registry) in a temporary
# `git worktree add --detach` with its own CARGO_TARGET_DIR, both under the
# bench temp dir; the worktree is removed (git worktree remove --force) as
# soon as the binary is built. The base setup runs exactly like the secret
# one (same attributes, same checks: ciphertext stored, plaintext checked
# out, streams round-trip) in every round, after it: plain, git-secret,
# baseline, git-crypt, do-nothing filter; the stream rows and the GIT_TRACE
# spawn counts too. The report gains a "git-secret (baseline <id>)" column
# and a "git-secret/baseline" ratio column on every row (above 1.00x: the
# work tree is slower), the slowest row against it, and a line naming the
# revision. The targets and the verdicts stay git-secret's (the work tree's).
# BENCH_BASELINE=HEAD on a clean tree compares a binary with itself: the
# ratios then show this machine's noise. Judge "no row slower" on a full
# run with several rounds: one quick round on a shared 2-core machine moves
# a row by +-50%. Without BENCH_BASELINE the output is what it always was.
#
# Issue 15 adds a second table, "history and big files through git": `git
# log -p` over a history of N commits (each changes a marked env file and one
# of 20 small marked files) for plain git, git-secret, git-crypt and a `cat`
# textconv (plain files marked diff=cat: the floor of any textconv, since git
# spawns one per blob); `git show` of a commit touching 100 marked files; a
# `git add` of the 1 GiB stream file and a `git checkout` of the 256 MiB file,
# both through git. Medians of interleaved rounds, like the first table.
#
# It reports figures: it exits 0 even when a target is missed. It exits
# non-zero when a setup does not work (a blob stored in plaintext, a
# checked-out file that is not plaintext, a dirty status after touch, a
# stream that does not round-trip). Installs git-crypt and GNU time with
# apt-get when they are missing (Debian/Ubuntu, as root).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=${BENCH_RUNS:-3}
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "BENCH_RUNS must be a positive integer" >&2; exit 2; }
if [ -n "${BENCH_QUICK:-}" ] && [ "${BENCH_QUICK}" != 0 ]; then
    mode=quick files=200 big_mib=16 stream_mib=64 commits=30 wide=20
else
    mode=full files=2000 big_mib=256 stream_mib=1024 commits=300 wide=100
fi
touched=$((files / 2))

started=$SECONDS
log() { echo "==> [$((SECONDS - started))s] $*" >&2; }
fail() { echo "bench.sh: FAILED: $*" >&2; exit 1; }
trap 'echo "bench.sh: FAILED at line $LINENO: $BASH_COMMAND" >&2' ERR

# No git environment from the caller leaks into any repository used here.
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_COMMON_DIR \
      GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_NAMESPACE GIT_CEILING_DIRECTORIES \
      GIT_TRACE GIT_TRACE2 GIT_TRACE2_PERF GIT_TRACE2_EVENT GIT_TRACE_PERFORMANCE \
      GIT_ATTR_SOURCE GIT_SECRET_IDENTITY XDG_DATA_HOME XDG_CONFIG_HOME

# --- baseline revision (BENCH_BASELINE), resolved before any build --------
base_rev=${BENCH_BASELINE:-} base_id="" base_short="" base_desc="" baseline="" base_tree=""
if [ -n "$base_rev" ]; then
    base_id=$(git -C "$root" rev-parse --verify --quiet "$base_rev^{commit}") ||
        fail "BENCH_BASELINE=$base_rev is not a commit of $root"
    base_short=$(git -C "$root" rev-parse --short "$base_id")
    base_desc=$(git -C "$root" log --oneline -1 "$base_id")
fi

# --- tools ---------------------------------------------------------------
need=()
command -v git-crypt >/dev/null 2>&1 || need+=(git-crypt)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v git-crypt >/dev/null 2>&1 || fail "git-crypt is not installed"
[ -x /usr/bin/time ] || fail "GNU time (/usr/bin/time) is not installed"

log "building git-secret and the do-nothing filter (cargo build --release)"
(cd "$root" && cargo build --release --quiet && cargo build --release --quiet --example identity_filter)
secret="$root/target/release/git-secret"
floor="$root/target/release/examples/identity_filter"
[ -x "$secret" ] || fail "no binary at $secret"
[ -x "$floor" ] || fail "no binary at $floor"
rev=$(git -C "$root" log --oneline -1 2>/dev/null || echo "unknown")
dirty=$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null | grep -c . || true)

# --- isolated environment ------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/git-secret-bench.XXXXXX")
cleanup() {
    if [ -n "$base_tree" ]; then  # the baseline build did not finish
        git -C "$root" worktree remove --force "$base_tree" >/dev/null 2>&1 ||
            echo "bench.sh: could not remove the worktree $base_tree (see git worktree list)" >&2
    fi
    if [ -n "${BENCH_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Built before HOME moves into the temp dir: cargo keeps ~/.cargo (its registry).
if [ -n "$base_rev" ]; then
    log "building the baseline $base_desc in a temporary worktree (cargo build --release)"
    base_tree="$work/baseline-src"
    git -C "$root" worktree add -q --detach "$base_tree" "$base_id" >>"$work/log" 2>&1 ||
        fail "git worktree add of $base_short: $(tail -3 "$work/log")"
    # Seeded with the work tree's compiled dependencies: cargo rebuilds what
    # differs (git-secret itself, any dependency REV locks differently), not
    # the ~200 crates that are the same (minutes on 2 cores).
    mkdir -p "$work/baseline-target/release"
    for d in deps build .fingerprint; do
        if [ -d "$root/target/release/$d" ]; then cp -a "$root/target/release/$d" "$work/baseline-target/release/"; fi
    done
    (cd "$base_tree" && CARGO_TARGET_DIR="$work/baseline-target" cargo build --release --quiet) ||
        fail "cannot build the baseline $base_short"
    [ -x "$work/baseline-target/release/git-secret" ] || fail "the baseline $base_short built no git-secret binary"
    mkdir "$work/baseline"
    # with the helper binaries REV has (textconv, filter process): installed as cargo installs them
    for bin in git-secret git-secret-textconv git-secret-filter-process; do
        if [ -x "$work/baseline-target/release/$bin" ]; then cp "$work/baseline-target/release/$bin" "$work/baseline/$bin"; fi
    done
    git -C "$root" worktree remove --force "$base_tree" || fail "git worktree remove --force $base_tree"
    base_tree=""
    rm -rf "$work/baseline-target"   # keep disk (or tmpfs) use down
    baseline="$work/baseline/git-secret"
fi

export HOME="$work/home" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL="$work/home/.gitconfig"
export LC_ALL=C
mkdir -p "$HOME"
git config --global user.name Bench
git config --global user.email bench@example.com
git config --global init.defaultBranch main
git config --global gc.auto 0          # no background gc in the middle of a timing
git config --global maintenance.auto false

setups=(plain secret crypt floor)
[ -n "$baseline" ] && setups=(plain secret base crypt floor)
with_base() { if [ -n "$baseline" ]; then "$@"; fi; }   # runs a command only with a baseline
exe() { case $1 in secret) echo "$secret" ;; base) echo "$baseline" ;; esac; }   # the git-secret binary of a setup
label() {
    case $1 in
        plain) echo plain ;; secret) echo git-secret ;; base) echo "git-secret baseline" ;;
        crypt) echo git-crypt ;; floor) echo "do-nothing filter" ;; cat) echo "\`cat\` textconv" ;;
    esac
}
declare -A T   # T[workload,setup] = "s1 s2 ..." (seconds); T[workload,setup,rss] = max KB

now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.3f", b - a}'; }
median() { tr ' ' '\n' | { grep . || true; } | sort -g | awk '{a[NR]=$1} END {if (NR == 0) print ""; else if (NR % 2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }
record() { T[$1,$2]+="$3 "; }

# --- data (the same bytes for every setup) --------------------------------
log "generating $files files of ~1 KB, a $big_mib MiB file and a $stream_mib MiB stream ($mode run, $runs rounds)"
mkdir -p "$work/data/secrets"
# 14 lines of 76 base64 chars (57 random bytes each) per file: exactly $files files of 1,078 bytes.
head -c $((files * 14 * 57)) /dev/urandom | base64 -w 76 |
    split -l 14 -a 5 -d --additional-suffix=.env - "$work/data/secrets/f"
[ "$(find "$work/data/secrets" -type f | wc -l)" -eq "$files" ] || fail "generated the wrong number of files"
find "$work/data/secrets" -type f -exec touch -d "@$(( $(date +%s) - 86400 ))" {} +
head -c 1M /dev/urandom > "$work/block"   # random 1 MiB block, repeated (deterministic encryption does not care)
for _ in $(seq "$big_mib"); do cat "$work/block"; done > "$work/big.bin"

# --- repositories --------------------------------------------------------
attrs() { # setup -> the .gitattributes that marks secrets/** and big.bin
    case $1 in
        plain)  printf '%s\n' 'secrets/** -text' 'big.bin -text' ;;
        secret|base) printf '%s\n' 'secrets/** filter=git-secret diff=git-secret merge=git-secret -text' \
                              'big.bin filter=git-secret diff=git-secret merge=git-secret -text' \
                              '.gitattributes !filter !diff !merge' ;;
        crypt)  printf '%s\n' 'secrets/** filter=git-crypt diff=git-crypt' \
                              'big.bin filter=git-crypt diff=git-crypt' \
                              '.gitattributes !filter !diff !merge' ;;
        floor)  printf '%s\n' 'secrets/** filter=floor -text' 'big.bin filter=floor -text' '.gitattributes !filter' ;;
        cat)    printf '%s\n' 'secrets/** diff=cat -text' ;;
    esac
}
make_repo() { # setup dir
    local kind=$1 dir=$2
    rm -rf "$dir"
    git init -q "$dir"
    case $kind in
        secret|base)
                (cd "$dir" && "$(exe "$kind")" init) >>"$work/log" 2>&1 ||
                    fail "$(label "$kind") init: $(tail -3 "$work/log")"
                # the drivers run the binary that ran init: this setup's, not the other git-secret
                case $(git -C "$dir" config filter.git-secret.process) in
                    *"$(exe "$kind")"*) ;;
                    *) fail "$kind: filter.git-secret.process does not run $(exe "$kind")" ;;
                esac ;;
        crypt)  (cd "$dir" && git-crypt init) >>"$work/log" 2>&1 || fail "git-crypt init: $(tail -3 "$work/log")" ;;
        floor)  git -C "$dir" config filter.floor.process "$floor"
                git -C "$dir" config filter.floor.required true ;;
        cat)    git -C "$dir" config diff.cat.textconv cat ;;
    esac
    attrs "$kind" > "$dir/.gitattributes"
    git -C "$dir" add .gitattributes
    git -C "$dir" commit -qm attributes
}
# A blob at PATH in the index is ciphertext (plain: the plaintext itself).
check_stored() { # setup dir path
    local head
    head=$(git -C "$2" cat-file blob ":$3" 2>/dev/null | head -c 10 | tr -d '\0') || true  # SIGPIPE on big blobs
    case $1 in
        plain|floor|cat) git -C "$2" cat-file blob ":$3" | cmp -s - "$2/$3" ;;
        secret|base) [ "${head:0:9}" = GITSECRET ] ;;
        crypt)  [ "${head:0:8}" = GITCRYPT ] ;;
    esac || fail "$1: the blob stored for $3 is not what it should be (plaintext leak or wrong filter)"
}

# --- workloads 1-4, interleaved ------------------------------------------
# Before each timed command, `sync` writes back what the untimed preparation
# dirtied (copies, deleted repositories), so no command pays for another's I/O.
# The data files carry an mtime from yesterday and are copied with it (cp -a),
# so no index entry is "racily clean" (same second as the index): otherwise
# git would re-clean every file on the next status, whatever was touched.
# Warm-up (untimed): page cache for the data files and the binaries.
make_repo plain "$work/warm" && cp -a "$work/data/secrets" "$work/warm/" && git -C "$work/warm" add secrets && rm -rf "$work/warm"
for round in $(seq "$runs"); do
    log "round $round/$runs"
    stamp=$(( $(date +%s) + 86400 * round ))
    for kind in "${setups[@]}"; do
        repo="$work/repo-$kind"
        make_repo "$kind" "$repo"
        cp -a "$work/data/secrets" "$repo/secrets"

        # 1. git add of N small files
        sync; t0=$(now); git -C "$repo" add secrets; record add "$kind" "$(since "$t0")"
        [ "$(git -C "$repo" ls-files secrets | wc -l)" -eq "$files" ] || fail "$kind: not every file was added"
        check_stored "$kind" "$repo" secrets/f00000.env
        git -C "$repo" commit -qm files >>"$work/log" 2>&1 || fail "$kind: commit (see the pre-commit hook)"

        # 3. git status after touching half of them (mtime into the future,
        #    so their stat data really change and git must re-clean each one)
        (cd "$repo" && ls secrets/*.env | awk -v n="$touched" 'NR <= n' | xargs touch -d "@$stamp")
        sync; t0=$(now); out=$(git -C "$repo" status --porcelain); record status "$kind" "$(since "$t0")"
        [ -z "$out" ] || fail "$kind: git status is not clean after touch: $(echo "$out" | head -3)"

        # 2. git checkout of those files: the index is intact, the work tree
        #    files are gone, so checkout has to smudge every one of them.
        rm -rf "$repo/secrets"
        sync; t0=$(now); git -C "$repo" checkout -- secrets; record checkout "$kind" "$(since "$t0")"
        diff -r -q "$work/data/secrets" "$repo/secrets" >/dev/null ||
            fail "$kind: checked-out files differ from the plaintext (ciphertext in the work tree?)"
        grep -q -e GITSECRET -e GITCRYPT "$repo/secrets/f00000.env" && fail "$kind: checked out ciphertext"

        # 4. git add of one big file (the do-nothing filter too: what git's
        #    filter protocol itself costs for one big file, the floor under
        #    any filter process)
        cp "$work/big.bin" "$repo/big.bin"
        sync; t0=$(now); git -C "$repo" add big.bin; record big "$kind" "$(since "$t0")"
        size=$(git -C "$repo" cat-file -s :big.bin)
        case $kind in
            plain|floor) [ "$size" -eq $((big_mib << 20)) ] ;;
            *) [ "$size" -gt $((big_mib << 20)) ] && check_stored "$kind" "$repo" big.bin ;;
        esac || fail "$kind: big file stored with the wrong size ($size)"

        # 4b. git checkout of that one big file (issue 15): smudged through git
        git -C "$repo" commit -qm big >>"$work/log" 2>&1 || fail "$kind: commit of big.bin"
        rm -f "$repo/big.bin"
        sync; t0=$(now); git -C "$repo" checkout -- big.bin; record bigout "$kind" "$(since "$t0")"
        cmp -s "$work/big.bin" "$repo/big.bin" || fail "$kind: the checked-out big file is not the plaintext"

        rm -rf "$repo"   # keep disk use down
    done
done

# --- filter processes git starts (untimed, GIT_TRACE, 20 files) -----------
declare -A S
spawns() { # setup -> "add/status/checkout" process counts for 20 files, 10 touched
    local kind=$1 repo="$work/spawn-$1" trace="$work/trace-$1" counts=""
    count() { grep -c 'run_command:.*\(git-secret\|git-crypt\)' "$trace" || true; rm -f "$trace"; }
    make_repo "$kind" "$repo"
    mkdir "$repo/secrets"
    ls "$work"/data/secrets/*.env | awk 'NR <= 20' | xargs cp -a -t "$repo/secrets"
    GIT_TRACE="$trace" git -C "$repo" add secrets; counts+="$(count)"
    git -C "$repo" commit -qm files >>"$work/log" 2>&1
    ls "$repo"/secrets/*.env | awk 'NR <= 10' | xargs touch -d "@$(( $(date +%s) + 86400 ))"
    GIT_TRACE="$trace" git -C "$repo" status --porcelain >/dev/null; counts+="/$(count)"
    rm -rf "$repo/secrets"
    GIT_TRACE="$trace" git -C "$repo" checkout -- secrets; counts+="/$(count)"
    rm -rf "$repo"
    echo "$counts"
}
for kind in secret base crypt; do
    [ "$kind" = base ] && [ -z "$baseline" ] && continue
    S[$kind]=$(spawns "$kind")
done

# --- 6. history and big files through git (issue 15) ---------------------
# One history repository per setup, built once (untimed): $commits commits,
# each changing secrets/app.env and one of 20 small marked files, and a
# branch "wide" whose last commit changes $wide marked files.
hsetups=(plain secret crypt cat)
[ -n "$baseline" ] && hsetups=(plain secret base crypt cat)
make_history() { # setup dir
    local kind=$1 dir=$2 i
    make_repo "$kind" "$dir"
    mkdir -p "$dir/secrets"
    ls "$work"/data/secrets/*.env | awk 'NR <= 20' | xargs cp -t "$dir/secrets"
    echo "APP_SECRET=0" > "$dir/secrets/app.env"
    git -C "$dir" add secrets && git -C "$dir" commit -qm history-0 >>"$work/log" 2>&1
    for i in $(seq "$commits"); do
        echo "APP_SECRET=$i" >> "$dir/secrets/app.env"
        echo "ROTATED_$i=value-$i" >> "$(ls "$dir"/secrets/f*.env | awk -v n=$((i % 20 + 1)) 'NR == n')"
        git -C "$dir" commit -qam "history-$i" >>"$work/log" 2>&1 || fail "$kind: history commit $i"
    done
    check_stored "$kind" "$dir" secrets/app.env
    git -C "$dir" checkout -q -b wide >>"$work/log" 2>&1
    mkdir -p "$dir/secrets/wide"
    # (longer than git-crypt's 22-byte header: its textconv prints nothing for shorter plaintext)
    for i in $(seq "$wide"); do echo "WIDE_$i=first-value-0123456789abcdef" > "$dir/secrets/wide/w$i.env"; done
    git -C "$dir" add secrets/wide && git -C "$dir" commit -qm wide-1 >>"$work/log" 2>&1
    for i in $(seq "$wide"); do echo "WIDE_$i=second-value-0123456789abcdef" > "$dir/secrets/wide/w$i.env"; done
    git -C "$dir" commit -qam wide-2 >>"$work/log" 2>&1
    git -C "$dir" checkout -q main >>"$work/log" 2>&1 || fail "$kind: checkout of main"
}
log "history repositories: $commits commits, a commit touching $wide files (${hsetups[*]})"
for kind in "${hsetups[@]}"; do make_history "$kind" "$work/history-$kind"; done
# Every setup shows the plaintext (git-secret and git-crypt through their textconv).
for kind in "${hsetups[@]}"; do   # (into a file: grep -q would cut git off, and pipefail sees that)
    git -C "$work/history-$kind" log -p > "$work/shown"
    grep -q "^+APP_SECRET=$commits\$" "$work/shown" || fail "$kind: git log -p does not show the plaintext"
    git -C "$work/history-$kind" show wide > "$work/shown"
    grep -q "^+WIDE_$wide=second-value-0123456789abcdef\$" "$work/shown" || fail "$kind: git show does not show the plaintext"
done
rm -f "$work/shown"
for kind in "${hsetups[@]}"; do T[spawn,$kind]=0; done
for kind in secret base cat; do   # textconv spawns of one log -p (GIT_TRACE), untimed
    [ "$kind" = base ] && [ -z "$baseline" ] && continue
    GIT_TRACE="$work/trace-log" git -C "$work/history-$kind" log -p >/dev/null
    T[spawn,$kind]=$(grep -c 'start_command:' "$work/trace-log" || true)
    T[shell,$kind]=$(grep -c 'start_command: /bin/sh -c' "$work/trace-log" || true)
    rm -f "$work/trace-log"
done
for _ in $(seq $((stream_mib / big_mib))); do cat "$work/big.bin"; done > "$work/huge.bin"
for round in $(seq "$runs"); do
    log "history round $round/$runs"
    for kind in "${hsetups[@]}"; do
        sync; t0=$(now); git -C "$work/history-$kind" log -p >/dev/null; record logp "$kind" "$(since "$t0")"
        sync; t0=$(now); git -C "$work/history-$kind" show wide >/dev/null; record show "$kind" "$(since "$t0")"
    done
    for kind in "${hsetups[@]}"; do
        [ "$kind" = cat ] && continue
        repo="$work/repo-$kind"
        make_repo "$kind" "$repo"
        cp "$work/huge.bin" "$repo/big.bin"
        sync; t0=$(now); git -C "$repo" add big.bin; record huge "$kind" "$(since "$t0")"
        size=$(git -C "$repo" cat-file -s :big.bin)
        case $kind in
            plain) [ "$size" -eq $((stream_mib << 20)) ] ;;
            *) [ "$size" -gt $((stream_mib << 20)) ] && check_stored "$kind" "$repo" big.bin ;;
        esac || fail "$kind: the $stream_mib MiB file stored with the wrong size ($size)"
        rm -rf "$repo"
    done
done
rm -f "$work/huge.bin"

# --- 5. raw clean / smudge of a big stream --------------------------------
log "raw clean/smudge of a $stream_mib MiB stream"
for _ in $(seq $((stream_mib / big_mib))); do cat "$work/big.bin"; done > "$work/stream.in"
rm -f "$work/big.bin" "$work/block"
make_repo secret "$work/stream-secret"
with_base make_repo base "$work/stream-base"
make_repo crypt "$work/stream-crypt"
timed() { # key setup dir in out command... : wall seconds and peak RSS, appended to T
    local key=$1 kind=$2 dir=$3 in=$4 out=$5; shift 5
    sync
    (cd "$dir" && /usr/bin/time -f '%e %M' -o "$work/time.out" "$@" < "$in" > "$out") ||
        fail "$kind: '$*' failed"
    local s m
    read -r s m < <(tail -n 1 "$work/time.out")
    record "$key" "$kind" "$s"
    T[$key,$kind,rss]=$(( ${T[$key,$kind,rss]:-0} > m ? ${T[$key,$kind,rss]:-0} : m ))
}
for round in $(seq "$runs"); do
    log "stream round $round/$runs"
    timed clean  secret "$work/stream-secret" "$work/stream.in" "$work/stream.secret" "$secret" clean -- f
    with_base timed clean base "$work/stream-base" "$work/stream.in" "$work/stream.base" "$baseline" clean -- f
    timed clean  crypt  "$work/stream-crypt"  "$work/stream.in" "$work/stream.crypt"  git-crypt clean
    # The machine's floor for the file → file rows: copying the plaintext
    # into a new file with cat, in the same conditions as the smudge after it.
    timed catfloor plain "$work" "$work/stream.in" "$work/stream.out" cat
    rm -f "$work/stream.out"
    timed smudge secret "$work/stream-secret" "$work/stream.secret" "$work/stream.out" "$secret" smudge -- f
    cmp -s "$work/stream.in" "$work/stream.out" || fail "secret: the stream does not round-trip"
    rm -f "$work/stream.out"
    if [ -n "$baseline" ]; then
        timed smudge base "$work/stream-base" "$work/stream.base" "$work/stream.out" "$baseline" smudge -- f
        cmp -s "$work/stream.in" "$work/stream.out" || fail "base: the stream does not round-trip"
        rm -f "$work/stream.out"
    fi
    timed smudge crypt  "$work/stream-crypt"  "$work/stream.crypt" "$work/stream.out" git-crypt smudge
    cmp -s "$work/stream.in" "$work/stream.out" || fail "crypt: the stream does not round-trip"
    rm -f "$work/stream.out"
    # git feeds a filter through a pipe, not a seekable file: measure that too.
    # The same into /dev/null: the tool's own cost, without the VM disk's write cost.
    timed cleannull  secret "$work/stream-secret" "$work/stream.in" /dev/null "$secret" clean -- f
    with_base timed cleannull base "$work/stream-base" "$work/stream.in" /dev/null "$baseline" clean -- f
    timed cleannull  crypt  "$work/stream-crypt"  "$work/stream.in" /dev/null git-crypt clean
    timed smudgenull secret "$work/stream-secret" "$work/stream.secret" /dev/null "$secret" smudge -- f
    with_base timed smudgenull base "$work/stream-base" "$work/stream.base" /dev/null "$baseline" smudge -- f
    timed smudgenull crypt  "$work/stream-crypt"  "$work/stream.crypt" /dev/null git-crypt smudge
    timed pipe   secret "$work/stream-secret" /dev/null /dev/null \
        sh -c 'cat "$1" | "$2" clean -- f > "$3"' sh "$work/stream.in" "$secret" "$work/stream.pipe"
    cmp -s "$work/stream.secret" "$work/stream.pipe" || fail "secret: clean from a pipe differs from clean from a file"
    rm -f "$work/stream.pipe"
    if [ -n "$baseline" ]; then
        timed pipe base "$work/stream-base" /dev/null /dev/null \
            sh -c 'cat "$1" | "$2" clean -- f > "$3"' sh "$work/stream.in" "$baseline" "$work/stream.pipe"
        cmp -s "$work/stream.base" "$work/stream.pipe" || fail "base: clean from a pipe differs from clean from a file"
        rm -f "$work/stream.pipe"
    fi
done
rm -f "$work/stream.in" "$work/stream.secret" "$work/stream.base" "$work/stream.crypt"

# --- report ---------------------------------------------------------------
med() { echo "${T[$1,$2]:-}" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.1fx", a / b; else print "n/a"}'; }
le() { awk -v v="$1" -v l="$2" 'BEGIN {exit !(v <= l)}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.0f MiB", k / 1024}'; }
scale=$(awk -v m="$stream_mib" 'BEGIN {print m / 1024}')
lim() { awk -v l="$1" -v s="$scale" 'BEGIN {printf "%.3g", l * s}'; }
fmt_n() { printf "%'d" "$1" 2>/dev/null || echo "$1"; }
misses=0
secs() { awk -v v="$1" 'BEGIN {printf (v < 1 ? "%.3f s" : "%.2f s"), v}'; }
# One table row from all 12 cells: name | plain | secret | base | crypt | floor |
# secret/plain | secret/base | crypt/plain | floor/plain | target | verdict;
# without a baseline, the two base cells are left out.
row() {
    local cells=("$@")
    [ -n "$baseline" ] || cells=("${cells[@]:0:3}" "${cells[@]:4:3}" "${cells[@]:8}")
    printf '|'; printf ' %s |' "${cells[@]}"; echo
}
# git-secret/baseline of one row (into $br), and the count and slowest of those rows.
slower=0 compared=0 worst=0 worst_row=""
vs_base() { # workload secret-seconds base-seconds
    br="—"
    [ -n "$baseline" ] || return 0
    br=$(awk -v s="$2" -v b="$3" 'BEGIN {if (b > 0) printf "%.2fx", s / b; else print "n/a"}')
    awk -v b="$3" 'BEGIN {exit !(b > 0)}' || return 0
    compared=$((compared + 1))
    if awk -v s="$2" -v b="$3" 'BEGIN {exit !(s > b)}'; then slower=$((slower + 1)); fi
    if awk -v s="$2" -v b="$3" -v w="$worst" 'BEGIN {exit !(s / b > w)}'; then
        worst=$(awk -v s="$2" -v b="$3" 'BEGIN {printf "%.4f", s / b}') worst_row=$1
    fi
}
labels=()
for kind in "${setups[@]}"; do labels+=("$(label "$kind")"); done
joined() { local sep=$1 out=$2; shift 2; for x in "$@"; do out+="$sep$x"; done; echo "$out"; }

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo
echo "## git-secret benchmark ($mode run) — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "Machine: $(nproc) cores, ${cpu:-unknown CPU}, $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo); $(uname -sr)"
echo "Tools: $(git --version); $(git-crypt --version 2>&1 | head -1); $("$secret" --version) at $rev$([ "$dirty" -gt 0 ] && echo " (+$dirty uncommitted changes)")"
if [ -n "$baseline" ]; then
    echo "Baseline: $("$baseline" --version 2>/dev/null || echo git-secret) at $base_desc (BENCH_BASELINE=$base_rev), built in a temporary worktree; git-secret/baseline above 1.00x: the work tree is slower."
fi
echo "Medians of $runs rounds, setups interleaved ($(joined ", " "${labels[@]}") each round); ratios against plain git in the same run."
spawned="git-secret ${S[secret]}, "
[ -n "$baseline" ] && spawned+="baseline ${S[base]}, "
echo "Filter processes git starts (GIT_TRACE; add of 20 marked files / status with 10 touched / checkout of 20): ${spawned}git-crypt ${S[crypt]}."
echo
row workload "plain git" git-secret "git-secret (baseline $base_short)" git-crypt "do-nothing filter" \
    git-secret/plain git-secret/baseline git-crypt/plain do-nothing/plain "target (git-secret)" "" | sed 's/  |$/ |/'
row --- --- --- --- --- --- --- --- --- --- --- --- | tr -d ' '
for w in add checkout status big bigout; do
    p=$(med "$w" plain) s=$(med "$w" secret) b=$(med "$w" base) c=$(med "$w" crypt) f=$(med "$w" floor)
    case $w in
        add)      name="\`git add\` of $(fmt_n "$files") files of ~1 KB" limit=2 ;;
        checkout) name="\`git checkout\` of those files" limit=2 ;;
        status)   name="\`git status\` after touching $(fmt_n "$touched")" limit=2 ;;
        big)      name="\`git add\` of one $big_mib MiB file" limit=1.3 ;;
        bigout)   name="\`git checkout\` of that $big_mib MiB file" limit=1.3 ;;
    esac
    r=$(ratio "$s" "$p")
    # The verdict uses the exact ratio, not the one-decimal one printed.
    if awk -v s="$s" -v p="$p" -v l="$limit" 'BEGIN {exit !(p > 0 && s <= l * p)}'; then
        v=PASS
    else
        v=MISS misses=$((misses + 1))
    fi
    r=$(awk -v s="$s" -v p="$p" 'BEGIN {if (p > 0) printf "%.2fx", s / p; else print "n/a"}')
    if [ -n "$f" ]; then fs=$(secs "$f") fr=$(ratio "$f" "$p"); else fs="—" fr="—"; fi
    bs="—"
    [ -n "$baseline" ] && bs=$(secs "$b")
    vs_base "$w" "$s" "$b"
    row "$name" "$(secs "$p")" "$(secs "$s")" "$bs" "$(secs "$c")" "$fs" \
        "$r" "$br" "$(ratio "$c" "$p")" "$fr" "≤ ${limit}x plain" "$v"
done
{ echo; echo "Every round (seconds; $(joined " | " "${labels[@]}")):"; } > "$work/rounds"
for w in add checkout status big bigout catfloor clean smudge cleannull smudgenull pipe; do
    printf '  %-9s' "$w:"
    for kind in "${setups[@]}"; do printf ' %-26s' "$(echo ${T[$w,$kind]:-—})"; done
    echo
done | sed 's/ *$//' >> "$work/rounds"
{ echo; echo "History and big files through git, every round (seconds; $(for k in "${hsetups[@]}"; do label "$k"; done | paste -sd '|' | sed 's/|/ | /g')):"; } >> "$work/rounds"
for w in logp show huge; do
    printf '  %-9s' "$w:"
    for kind in "${hsetups[@]}"; do printf ' %-26s' "$(echo ${T[$w,$kind]:-—})"; done
    echo
done | sed 's/ *$//' >> "$work/rounds"
stream_name=$([ "$stream_mib" -ge 1024 ] && echo "$((stream_mib / 1024)) GiB" || echo "$stream_mib MiB")
for w in catfloor clean smudge cleannull smudgenull pipe; do
    s=$(med "$w" secret) srss=${T[$w,secret,rss]:-0} b=$(med "$w" base)
    case $w in
        clean)  name="raw \`clean\` of a $stream_name stream (file → file)" limit=$(lim 2.0) ;;
        smudge) name="raw \`smudge\` of the result (file → file)" limit=$(lim 1.5) ;;
        cleannull)  name="raw \`clean\`, output to /dev/null" limit=$(lim 2.0) ;;
        smudgenull) name="raw \`smudge\`, output to /dev/null" limit=$(lim 1.5) ;;
        pipe)   name="raw \`clean\` of the stream from a pipe (as git feeds it)" limit="" ;;
        catfloor) name="\`cat\` of the $stream_name plaintext into a new file: this machine's floor for the file → file rows" limit="" ;;
    esac
    if [ "$w" = catfloor ]; then
        row "$name" "$(secs "$(med catfloor plain)")" — — — — — — — — "(reference)" ""
        continue
    elif [ "$w" = pipe ]; then
        c="—" target="(no target)" v=""
    else
        c="$(secs "$(med "$w" crypt)"), $(mib "${T[$w,crypt,rss]}")"
        target="≤ $limit s, ≤ 64 MiB RSS"
        if le "$s" "$limit" && [ "$srss" -le $((64 * 1024)) ]; then v=PASS; else v=MISS; misses=$((misses + 1)); fi
    fi
    bs="—"
    [ -n "$baseline" ] && bs="$(secs "$b"), $(mib "${T[$w,base,rss]:-0}")"
    vs_base "$w" "$s" "$b"
    row "$name" — "$(secs "$s"), $(mib "$srss")" "$bs" "$c" — — "$br" — — "$target" "$v"
done
echo
[ "$mode" = quick ] && echo "(quick run: stream time targets scaled to $stream_mib MiB; the issue's targets are for the full run)"

# --- the history table (issue 15) -----------------------------------------
stream_name_git=$([ "$stream_mib" -ge 1024 ] && echo "$((stream_mib / 1024)) GiB" || echo "$stream_mib MiB")
hlabels=()
for kind in "${hsetups[@]}"; do hlabels+=("$(label "$kind")"); done
echo
echo "History and big files through git ($commits commits; processes git starts for one \`git log -p\`, GIT_TRACE, and in brackets how many of them through \`sh -c\`: git-secret ${T[spawn,secret]} (${T[shell,secret]:-0})$([ -n "$baseline" ] && echo ", baseline ${T[spawn,base]} (${T[shell,base]:-0})"), \`cat\` textconv ${T[spawn,cat]} (${T[shell,cat]:-0})):"
echo
hrow() { printf '|'; printf ' %s |' "$@"; echo; }
hrow workload "${hlabels[@]}" git-secret/plain "git-secret/\`cat\`" "target (git-secret)" ""
hrow $(for _ in $(seq $(( ${#hsetups[@]} + 5 ))); do echo ---; done) | tr -d ' '
for w in logp show huge; do
    cells=() p=$(med "$w" plain) s=$(med "$w" secret) c=$(med "$w" cat)
    for kind in "${hsetups[@]}"; do
        v=$(med "$w" "$kind")
        if [ -n "$v" ]; then cells+=("$(secs "$v")"); else cells+=("—"); fi
    done
    case $w in
        logp) name="\`git log -p\` over $commits commits" ref=$c limit=1.3 against="\`cat\` textconv" ;;
        show) name="\`git show\` of a commit touching $wide marked files" ref=$c limit="" against="" ;;
        huge) name="\`git add\` of one $stream_name_git file" ref=$p limit=1.1 against=plain ;;
    esac
    sc=$([ -n "$c" ] && ratio "$s" "$c" || echo —)
    if [ -z "$limit" ]; then
        target="(no target)" v=""
    elif awk -v s="$s" -v r="$ref" -v l="$limit" 'BEGIN {exit !(r > 0 && s <= l * r)}'; then
        target="≤ ${limit}x $against" v=PASS
    else
        target="≤ ${limit}x $against" v=MISS misses=$((misses + 1))
    fi
    hrow "$name" "${cells[@]}" "$(ratio "$s" "$p")" "$sc" "$target" "$v"
done
cat "$work/rounds"
if [ -n "$baseline" ]; then
    echo "Against the baseline ($base_short): git-secret's median is higher on $slower of $compared rows; highest git-secret/baseline $(awk -v w="$worst" 'BEGIN {printf "%.2fx", w}')${worst_row:+ ($worst_row)}."
fi
echo "Stream rows: wall seconds (median) and peak RSS (max over rounds), measured with /usr/bin/time -f '%e %M'."
if [ "$misses" -eq 0 ]; then echo "All targets met."; else echo "$misses target(s) missed."; fi
exit 0
