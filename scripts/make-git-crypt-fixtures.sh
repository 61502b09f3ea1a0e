#!/usr/bin/env bash
# Regenerates tests/fixtures/git-crypt/ with the real git-crypt (apt-get
# install git-crypt): a repository bundle with history and two keys, and the
# key files. The tests use the committed fixtures, so they need no git-crypt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/tests/fixtures/git-crypt"
command -v git-crypt >/dev/null || { echo "git-crypt is not installed (apt-get install git-crypt)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HOME="$work/home" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL="$work/home/.gitconfig"
export GIT_AUTHOR_DATE=2026-01-01T00:00:00Z GIT_COMMITTER_DATE=2026-01-01T00:00:00Z
mkdir -p "$HOME" && cd "$work"
git config --global user.name Fixture && git config --global user.email fixture@example.com
git config --global init.defaultBranch main
git init -q repo && cd repo

echo "# app" > README.md
mkdir -p config secrets prod
printf 'EARLY=committed-before-marking\n' > config/early.env
git add . && git commit -qm "initial, with a secret committed before it was marked"

git-crypt init
git-crypt init -k prod
cat > .gitattributes <<'ATTR'
secrets/** filter=git-crypt diff=git-crypt
config/** filter=git-crypt diff=git-crypt
prod/** filter=git-crypt-prod diff=git-crypt-prod
.gitattributes !filter !diff
ATTR
git add .gitattributes && git commit -qm "mark secrets for git-crypt"

printf 'API_TOKEN=first\n' > secrets/a.env
: > secrets/empty
printf 'x' > secrets/one-byte
printf 'PROD_DB=prod-secret\n' > prod/p.env
git add . && git commit -qm "add secrets"
printf 'API_TOKEN=second\n' > secrets/a.env
git commit -qam "change a secret"

rm -rf "$out" && mkdir -p "$out"
git-crypt export-key "$out/default.key"
git-crypt export-key -k prod "$out/prod.key"
git bundle create -q "$out/repo.bundle" --all
# git-crypt before 0.4 stored keys as the raw AES key (32 bytes) followed by
# the HMAC key (64 bytes); make one from the default key for the legacy reader.
python3 - "$out/default.key" "$out/legacy.key" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
pos = 16
def fields(pos):
    out = {}
    while True:
        (fid,) = struct.unpack(">I", data[pos:pos + 4]); pos += 4
        if fid == 0:
            return out, pos
        (n,) = struct.unpack(">I", data[pos:pos + 4]); pos += 4
        out[fid] = data[pos:pos + n]; pos += n
_, pos = fields(pos)
entry, _ = fields(pos)
open(sys.argv[2], "wb").write(entry[3] + entry[5])
PY
chmod 600 "$out/legacy.key"
echo "fixtures written to $out"
