# pccs_lib.bash — start and stop tests/pccs/pccs_server.py from a test script (sourced).
# The caller sets: tmp (a private temp dir), pccs_collateral (the QuoteCollateralV3 JSON to serve)
# and python (optional; default python3). Sets: srv_pid, port, srv_log; nsrv counts servers.
srv_pid=""
nsrv=0
pccs_server_py="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/pccs_server.py"

# start_server [FLAGS...]: a fresh server (the previous one stopped). Bounded wait for "PORT n".
start_server() {
    stop_server
    nsrv=$((nsrv + 1))
    srv_log="$tmp/server$nsrv.log"
    "${python:-python3}" "$pccs_server_py" "$pccs_collateral" --idle-exit 60 --max-lifetime 300 "$@" \
        >"$tmp/server$nsrv.out" 2>"$srv_log" &
    srv_pid=$!
    port=""
    for _ in $(seq 100); do
        port=$(sed -n 's/^PORT \([0-9][0-9]*\)$/\1/p' "$tmp/server$nsrv.out" 2>/dev/null | head -1)
        [ -n "$port" ] && return 0
        sleep 0.1
    done
    echo "cannot start the PCCS test server:"
    cat "$srv_log"
    return 1
}

stop_server() {
    if [ -n "$srv_pid" ]; then
        kill "$srv_pid" 2>/dev/null
        wait "$srv_pid" 2>/dev/null
        srv_pid=""
    fi
}
