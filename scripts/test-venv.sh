#!/usr/bin/env bash
# Makes the Python the integration tests drive (python-dotenv for the exec
# parity test, ansible-core for the deploy example) in target/test-venv.
# .ci/run calls it; a local `cargo test` calls it on first use. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${GIT_SECRET_TEST_VENV:-$PWD/target/test-venv}"
want="python-dotenv==1.2.4 ansible-core==2.19.14"
if [ -f "$venv/.installed" ] && [ "$(cat "$venv/.installed")" = "$want" ]; then
    exit 0
fi
python3 -m venv "$venv"
# shellcheck disable=SC2086
"$venv/bin/pip" install --quiet --disable-pip-version-check $want
printf '%s' "$want" >"$venv/.installed"
