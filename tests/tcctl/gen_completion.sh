#!/usr/bin/env bash
# Regenerate daemon/src/tcctl/completion.c from contrib/completion/tcctl.bash
# (the test tcctl_cli checks that `tcctl completion bash` matches the file).
#   tests/tcctl/gen_completion.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
src=contrib/completion/tcctl.bash
out=daemon/src/tcctl/completion.c
{
    cat <<'HEAD'
/*
 * completion.c - the bash completion script, printed by `tcctl completion bash`.
 *
 * Generated from contrib/completion/tcctl.bash (tests/tcctl checks that the two match): edit
 * that file, then regenerate this one with tests/tcctl/gen_completion.sh.
 */
#include "tcctl.h"

const char tcctl_completion_bash[] =
HEAD
    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/\\n"/' "$src" | sed '$ s/$/;/'
} >"$out"
if command -v clang-format >/dev/null; then
    clang-format -i "$out"
fi
