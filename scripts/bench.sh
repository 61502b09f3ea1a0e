#!/usr/bin/env bash
# Benchmark: plain git (no filter) vs git-secret vs git-crypt, side by side in
# one run (setups interleaved each round, medians reported), on the workloads
# of issue 3. It reports figures and exits 0 even when a target is missed;
# it exits non-zero only if a setup does not work (e.g. checkout leaves
# ciphertext). Installs git-crypt and GNU time with apt-get when missing.
#
#   scripts/bench.sh                 # full run (BENCH_RUNS=3 rounds)
#   BENCH_QUICK=1 scripts/bench.sh   # small smoke run
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=${BENCH_RUNS:-3}
if [ -n "${BENCH_QUICK:-}" ]; then
    files=200 big_mib=16 stream_mib=64
else
    files=2000 big_mib=256 stream_mib=1024
fi
touched=$((files / 2))

need=()
command -v git-crypt >/dev/null || need+=(git-crypt)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
    echo "==> installing ${need[*]}"
    (apt-get install -y -qq "${need[@]}" >/dev/null 2>&1) || { apt-get update -qq >/dev/null && apt-get install -y -qq "${need[@]}" >/dev/null; }
fi

echo "==> building git-secret (release)"
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
secret="$root/target/release/git-secret"

work=$(mktemp -d "${TMPDIR:-/tmp}/git-secret-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export HOME="$work/home" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL="$work/home/.gitconfig"
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE
mkdir -p "$HOME"
git config --global user.name Bench
git config --global user.email bench@example.com
git config --global init.defaultBranch main
git config --global core.hooksPath /dev/null   # time git, not hooks

setups=(plain secret crypt)
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.3f\n", b - a}'; }
fail() { echo "FAILED: $*" >&2; exit 1; }

# A repository per setup, with the files marked (or not).
make_repo() { # kind dir
    local kind=$1 dir=$2
    git init -q "$dir"
    case $kind in
        plain) : ;;
        secret) (cd "$dir" && "$secret" init 2>/dev/null)
                echo 'secrets/** filter=git-secret diff=git-secret merge=git-secret -text' > "$dir/.gitattributes" ;;
        crypt) (cd "$dir" && git-crypt init >/dev/null)
               echo 'secrets/** filter=git-crypt diff=git-crypt' > "$dir/.gitattributes" ;;
    esac
    if [ -f "$dir/.gitattributes" ]; then
        echo '.gitattributes !filter !diff !merge' >> "$dir/.gitattributes"
        git -C "$dir" add .gitattributes && git -C "$dir" commit -qm attributes
    fi
}
is_plaintext() { ! head -c 10 "$1" | grep -qa -e GITSECRET -e GITCRYPT; }
is_stored_encrypted() { git -C "$1" cat-file blob "HEAD:$2" > "$work/blob.tmp" && head -c 10 "$work/blob.tmp" | grep -qa -e GITSECRET -e GITCRYPT; }

echo "==> preparing $files files of ~1 KB, a ${big_mib} MiB file and a ${stream_mib} MiB stream"
mkdir -p "$work/data/secrets"
for i in $(seq "$files"); do head -c 768 /dev/urandom | base64 -w 76 > "$work/data/secrets/f$i.env"; done
head -c 1M /dev/urandom > "$work/block"
for i in $(seq "$big_mib"); do cat "$work/block"; done > "$work/big.bin"

declare -A t
for kind in "${setups[@]}"; do make_repo "$kind" "$work/$kind"; done

for round in $(seq "$runs"); do
    echo "==> round $round/$runs"
    for kind in "${setups[@]}"; do
        repo="$work/$kind"
        rm -rf "$repo/secrets"; cp -r "$work/data/secrets" "$repo/secrets"
        git -C "$repo" rm -rq --cached --ignore-unmatch secrets
        start=$(now); git -C "$repo" add secrets; t[add,$kind]+="$(elapsed "$start") "
        git -C "$repo" commit -qm "round $round" --allow-empty
        [ "$kind" = plain ] || is_stored_encrypted "$repo" secrets/f1.env || fail "$kind stored plaintext"

        rm -rf "$repo/secrets"
        start=$(now); git -C "$repo" checkout -- secrets; t[checkout,$kind]+="$(elapsed "$start") "
        is_plaintext "$repo/secrets/f1.env" || fail "$kind checked out ciphertext"

        stamp=$(( $(date +%s) + 3600 * round ))
        all=("$repo"/secrets/*.env)
        touch -d "@$stamp" "${all[@]:0:$touched}"
        start=$(now); out=$(git -C "$repo" status --porcelain); t[status,$kind]+="$(elapsed "$start") "
        [ -z "$out" ] || fail "$kind: git status not clean after touch: $(echo "$out" | head -3)"

        cp "$work/big.bin" "$repo/big.bin"
        [ "$kind" = plain ] || echo 'big.bin filter='"$([ "$kind" = secret ] && echo git-secret || echo git-crypt)"' -text' >> "$repo/.git/info/attributes"
        git -C "$repo" rm -q --cached --ignore-unmatch big.bin
        start=$(now); git -C "$repo" add big.bin; t[big,$kind]+="$(elapsed "$start") "
        git -C "$repo" rm -q --cached big.bin; rm -f "$repo/big.bin"
    done
done

echo "==> raw streams (${stream_mib} MiB)"
for i in $(seq $((stream_mib / big_mib))); do cat "$work/big.bin"; done > "$work/stream.bin"
rm -f "$work/big.bin"
measure() { # label dir command...: median seconds and max RSS (MiB) over the rounds
    local label=$1 dir=$2; shift 2
    local secs="" rss=0
    for round in $(seq "$runs"); do
        (cd "$dir" && /usr/bin/time -f '%e %M' -o "$work/time.out" "$@") >/dev/null
        read -r s m < "$work/time.out"
        secs+="$s "; [ "$m" -gt "$rss" ] && rss=$m
    done
    t[$label]=$(echo "$secs" | tr ' ' '\n' | grep . | median)
    t[$label.rss]=$(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}')
}
(cd "$work/secret" && "$secret" clean -- s < "$work/stream.bin" > "$work/stream.secret")
(cd "$work/crypt" && git-crypt clean < "$work/stream.bin" > "$work/stream.crypt")
measure clean.secret "$work/secret" sh -c "'$secret' clean -- s < '$work/stream.bin' > /dev/null"
measure pipe.secret "$work/secret" sh -c "cat '$work/stream.bin' | '$secret' clean -- s > /dev/null"
measure smudge.secret "$work/secret" sh -c "'$secret' smudge -- s < '$work/stream.secret' > /dev/null"
measure clean.crypt "$work/crypt" sh -c "git-crypt clean < '$work/stream.bin' > /dev/null"
measure smudge.crypt "$work/crypt" sh -c "git-crypt smudge < '$work/stream.crypt' > /dev/null"
(cd "$work/secret" && "$secret" smudge -- s < "$work/stream.secret" | cmp -s - "$work/stream.bin") || fail "git-secret stream round trip"

# Report.
med() { echo "${t[$1]}" | tr ' ' '\n' | grep . | median; }
verdict() { awk -v v="$1" -v lim="$2" 'BEGIN {print (v <= lim ? "PASS" : "MISS")}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", (b > 0 ? a / b : 0)}'; }
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo
echo "Machine: $(nproc) cores, $cpu; $(git --version); $(git-crypt --version 2>&1 | head -1); git-secret $("$secret" --version | cut -d' ' -f2)"
echo "Medians of $runs rounds, setups interleaved. Ratios are against plain git in the same run."
echo
printf '| %-34s | %9s | %10s | %9s | %12s | %11s | %-16s |\n' workload "plain git" git-secret git-crypt "secret/plain" "crypt/plain" "target"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "------------------------------------" "-----------" "------------" "-----------" "--------------" "-------------" "------------------"
for w in add checkout status big; do
    p=$(med "$w,plain") s=$(med "$w,secret") c=$(med "$w,crypt")
    case $w in
        add) name="git add of $files files" limit=2.0 ;;
        checkout) name="git checkout of $files files" limit=2.0 ;;
        status) name="git status, $touched touched" limit=2.0 ;;
        big) name="git add of one ${big_mib} MiB file" limit=1.3 ;;
    esac
    r=$(ratio "$s" "$p")
    printf '| %-34s | %8ss | %9ss | %8ss | %12s | %11s | <= %sx %-4s |\n' "$name" "$p" "$s" "$c" "$r" "$(ratio "$c" "$p")" "$limit" \
        "$(verdict "${r%x}" "$limit")"
done
echo
echo "Raw streams of ${stream_mib} MiB (output to /dev/null; median seconds, peak RSS):"
printf '| %-40s | %9s | %9s | %-22s |\n' stream seconds "RSS MiB" "target (1 GiB)"
printf '|%s|%s|%s|%s|\n' "------------------------------------------" "-----------" "-----------" "------------------------"
row() { printf '| %-40s | %9s | %9s | %-22s |\n' "$1" "${t[$2]}" "${t[$2.rss]}" "$3"; }
scale=$(awk -v m="$stream_mib" 'BEGIN {print m / 1024}')
lim() { awk -v l="$1" -v s="$scale" 'BEGIN {printf "%.2f", l * s}'; }
row "git-secret clean < file" clean.secret "<= $(lim 2.0)s, 64 MiB $(verdict "${t[clean.secret]}" "$(lim 2.0)")"
row "git-secret clean from a pipe (as git)" pipe.secret "(spools to disk)"
row "git-secret smudge" smudge.secret "<= $(lim 1.5)s, 64 MiB $(verdict "${t[smudge.secret]}" "$(lim 1.5)")"
row "git-crypt clean" clean.crypt ""
row "git-crypt smudge" smudge.crypt ""
