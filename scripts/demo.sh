#!/usr/bin/env bash
# Plays the whole git-secret story in a temporary directory: Alice encrypts,
# hands the key to Bob, Bob clones and unlocks, CI unlocks from stdin, Dana
# reads, edits and runs with secrets in a locked clone (view, edit, exec),
# and lock turns the work tree back into ciphertext. Exits non-zero if any
# step does not hold. Touches nothing outside its temp dir (HOME is redirected).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
echo "==> building git-secret (release)"
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/git-secret"

work=$(mktemp -d "${TMPDIR:-/tmp}/git-secret-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
export HOME="$work/home" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL="$work/home/.gitconfig"
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE
mkdir -p "$HOME"
git config --global user.name Demo
git config --global user.email demo@example.com
git config --global init.defaultBranch main
git config --global advice.detachedHead false

step() { printf '\n==> %s\n' "$*"; }
check() { # check DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@"; then printf '    ok: %s\n' "$what"; else printf '    FAILED: %s\n' "$what" >&2; exit 1; fi
}
is_ciphertext() { head -c 10 "$1" | od -An -c | grep -q 'G   I   T   S   E   C   R   E   T'; }
stored_is_ciphertext() { git -C "$1" cat-file blob "$2" | head -c 10 | od -An -c | grep -q 'G   I   T   S   E   C   R   E   T'; }
clean_status() { [ -z "$(git -C "$1" status --porcelain)" ]; }
show_stored() { printf '    git stores %s as: ' "$2"; git -C "$1" cat-file blob "HEAD:$2" | head -c 48 | od -An -c | head -2 | tr -s ' ' | tr '\n' ' '; echo '…'; }

step "Alice creates a repository and a key"
git init -q "$work/alice"
cd "$work/alice"
echo "# app" > README.md && git add README.md && git commit -qm "initial"
"$bin" init
cp "$root/.gitattributes.example" .gitattributes
git add .gitattributes && git commit -qm "mark secrets"

step "Alice commits secrets"
mkdir -p secrets
printf 'DATABASE_URL=postgres://app:hunter2@db/prod\n' > secrets/prod.env
printf 'API_TOKEN=s3cr3t\n' > .env
git add . && git commit -qm "add secrets"
show_stored . secrets/prod.env
check "the committed blob is ciphertext" stored_is_ciphertext . HEAD:secrets/prod.env
check "the plaintext is nowhere in the object store" bash -c '! git cat-file --batch-all-objects --batch | grep -q hunter2'
check "Alice's work tree stays plaintext" grep -q hunter2 secrets/prod.env
check "git status is clean" clean_status .
touch secrets/prod.env .env
check "git status is clean after touch" clean_status .
"$bin" status

step "Alice edits a secret: git diff shows plaintext"
printf 'DATABASE_URL=postgres://app:correct-horse@db/prod\n' > secrets/prod.env
git --no-pager diff --stat
check "diff shows the new plaintext line" bash -c 'git diff | grep -q "^+DATABASE_URL=postgres://app:correct-horse"'
git commit -qam "rotate db password"

step "Alice exports the key for Bob"
"$bin" export-key "$work/team.key"
check "the key file is mode 0600" bash -c '[ "$(stat -c %a "$0")" = 600 ]' "$work/team.key"
sed 's/^key: .*/key: <redacted in this demo>/' "$work/team.key"

step "Bob clones: ciphertext until he unlocks"
git clone -q "$work/alice" "$work/bob"
cd "$work/bob"
check "Bob's fresh clone holds ciphertext" is_ciphertext secrets/prod.env
"$bin" unlock "$work/team.key"
check "after unlock Bob reads plaintext" grep -q correct-horse secrets/prod.env
check "git status is clean" clean_status .

step "Bob edits and pushes; Alice pulls"
printf 'API_TOKEN=rotated-by-bob\n' > .env
git commit -qam "bob rotates the token"
check "Bob's commit stores ciphertext" stored_is_ciphertext . HEAD:.env
git push -q origin HEAD:bob
cd "$work/alice"
git merge -q --ff-only bob
check "Alice reads Bob's plaintext" grep -q rotated-by-bob .env
check "git status is clean" clean_status .

step "CI unlocks from a secret variable on stdin"
GIT_SECRET_KEY=$(cat "$work/team.key")
git clone -q "$work/alice" "$work/ci"
cd "$work/ci"
printf '%s\n' "$GIT_SECRET_KEY" | "$bin" unlock -
check "CI reads plaintext" grep -q rotated-by-bob .env

step "Dana stays locked: view, edit and exec without plaintext on disk"
git clone -q "$work/alice" "$work/dana"
cd "$work/dana"
"$bin" view --key "$work/team.key" .env
check "view prints the plaintext, the work tree stays ciphertext" is_ciphertext .env
EDITOR="sed -i s/rotated-by-bob/edited-by-dana/" "$bin" edit --key "$work/team.key" .env
check "edit staged new ciphertext, the work tree is still ciphertext" is_ciphertext .env
check "the staged version holds the edit" bash -c '"$0" view --cached --key "$1" .env | grep -q edited-by-dana' "$bin" "$work/team.key"
"$bin" exec --key "$work/team.key" --env .env -- sh -c 'echo "    exec: API_TOKEN has ${#API_TOKEN} characters"'
check "exec hands the variables to the command" "$bin" exec --key "$work/team.key" --env .env -- sh -c '[ "$API_TOKEN" = edited-by-dana ]'
git commit -qm "dana edits the token while locked"
check "Dana's commit stores ciphertext" stored_is_ciphertext . HEAD:.env

step "Alice locks: ciphertext in the work tree, no key under .git"
cd "$work/alice"
"$bin" lock
check "the work tree holds ciphertext" is_ciphertext secrets/prod.env
check "git status is clean" clean_status .
check "no key file remains" bash -c '[ -z "$(ls -A .git/git-secret 2>/dev/null)" ]'
printf 'oops\n' > secrets/new.env
check "a locked repo refuses to commit new plaintext" bash -c '! git add secrets/new.env 2>/dev/null'
rm secrets/new.env
"$bin" unlock "$work/team.key"
check "unlock again restores plaintext" grep -q correct-horse secrets/prod.env

printf '\nAll steps held.\n'
