# Shell helpers of the bench scripts (sourced). The script sets `work` (its scratch folder) and
# `keep` (1: leave it) before calling bench_cleanup_on_exit; every server it starts goes in `pids`.
pids=()
bench_cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2> /dev/null || true; done
  for p in "${pids[@]:-}"; do [ -n "$p" ] && wait "$p" 2> /dev/null || true; done
  [ "$keep" = 1 ] || rm -rf "$work"
}
bench_cleanup_on_exit() { trap bench_cleanup EXIT; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_for() {  # wait_for SECONDS COMMAND...: polls every 50 ms
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@" > /dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.05
  done
}
stop_pid() { kill "$1" 2> /dev/null || true; wait "$1" 2> /dev/null || true; }
