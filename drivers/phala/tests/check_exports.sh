#!/bin/sh
# check_exports.sh PLUGIN — the plugin's dynamic symbol table defines crabbox_driver_entry and
# nothing else (hidden visibility + version script; the verifier code linked in stays internal).
set -eu
syms=$(nm -D --defined-only "$1" | awk '{ print $3 }' | sort)
if [ "$syms" != "crabbox_driver_entry" ]; then
    echo "unexpected exports of $1:" >&2
    echo "$syms" >&2
    exit 1
fi
echo "ok: $1 exports only crabbox_driver_entry"
