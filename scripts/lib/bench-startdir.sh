# shellcheck shell=bash
# scripts/bench.sh's "startdir" phase (sourced; uses its log, die, now, ms_since, median, report,
# RUN and CONTIV_ARTIFACTS): does the working directory a daemon starts in change its start?
# systemd starts services in /, where netmaster and netplugin used to put an inotify watch on every
# directory of the filesystem (ASP.NET Core's appsettings reload-on-change on the content root =
# the current directory) before answering anything. Each daemon is started BENCH_COLD_RUNS times
# from / and from an empty directory, timed from exec to its first /health answer, and its inotify
# watches counted once it answers. netmaster serves loopback with an embedded store of its own;
# netplugin runs in a network namespace of its own (unshare execs it: same PID) with an empty store,
# so it programs nothing. Every process is killed by its PID.

STARTDIR_PID=""

startdir_stop() {
  local i
  [ -n "$STARTDIR_PID" ] || return 0
  kill -KILL "$STARTDIR_PID" 2>/dev/null || true
  # reaped here, so bash prints no "Killed" job notice; bounded: SIGKILL cannot be ignored
  wait "$STARTDIR_PID" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do [ -d "/proc/$STARTDIR_PID" ] || break; sleep 0.05; done
  STARTDIR_PID=""
}

# startdir_inotify PID -> the number of inotify watches PID holds (one "inotify wd:" line each in fdinfo)
startdir_inotify() { cat "/proc/$1/fdinfo/"* 2>/dev/null | grep -c '^inotify wd:' || true; }

# startdir_once DAEMON CWD TAG: appends the ms from exec to the first /health answer to
# $RUN/samples/startdir-TAG.txt and the inotify watches held 1 s later (added by a background thread
# while the daemon came up) to $RUN/startdir/TAG-watches. Not in a $(...) subshell, so the phase's
# EXIT trap knows STARTDIR_PID.
startdir_once() {
  local daemon=$1 cwd=$2 tag=$3 dir="$RUN/startdir/$3-run" port t0 i url curl_args=()
  rm -rf "$dir"; mkdir -p "$dir"
  t0=$(now)
  if [ "$daemon" = netmaster ]; then
    port=$((20000 + RANDOM % 20000))
    (cd "$cwd" && exec "$CONTIV_ARTIFACTS/netmaster/netmaster" --listen-url "127.0.0.1:$port" \
      --cluster-store "embedded://$dir/store" </dev/null >"$dir/log" 2>&1) &
    url="http://127.0.0.1:$port/health"
  else
    (cd "$cwd" && exec unshare --net -- "$CONTIV_ARTIFACTS/netplugin/netplugin" --socket "$dir/np.sock" \
      --state-dir "$dir/state" --cluster-store "embedded://$dir/store" --host "bench-$tag" --dns-listen off \
      --docker-endpoint "unix://$dir/no-docker.sock" </dev/null >"$dir/log" 2>&1) &
    url="http://netplugin/health"; curl_args=(--unix-socket "$dir/np.sock")
  fi
  STARTDIR_PID=$!
  for ((i = 0; i < 3000; i++)); do # 10 ms steps, 30 s at most
    # any HTTP answer counts (netplugin's health is degraded without a Docker engine): it serves
    if curl -s -o /dev/null -m 1 "${curl_args[@]}" "$url"; then break; fi
    [ -d "/proc/$STARTDIR_PID" ] || die "startdir: $daemon ($tag) exited (see $dir/log)"
    sleep 0.01
  done
  [ "$i" -lt 3000 ] || { startdir_stop; die "startdir: $daemon ($tag) did not answer $url within 30 s (see $dir/log)"; }
  ms_since "$t0" >>"$RUN/samples/startdir-$tag.txt"
  sleep 1
  startdir_inotify "$STARTDIR_PID" >>"$RUN/startdir/$tag-watches"
  startdir_stop
}

phase_startdir() {
  local daemon r empty runs=$((BENCH_COLD_RUNS > 3 ? BENCH_COLD_RUNS : 3))
  mkdir -p "$RUN/startdir" "$RUN/samples"
  trap startdir_stop EXIT # the phase runs in a subshell of its own
  empty=$(mktemp -d "$RUN/startdir/empty.XXXXXX")
  for daemon in netmaster netplugin; do
    log "start directory: $daemon from / and from an empty directory, $runs runs each, ms to the first /health answer"
    : >"$RUN/samples/startdir-$daemon-root.txt"; : >"$RUN/samples/startdir-$daemon-empty.txt"
    : >"$RUN/startdir/$daemon-root-watches"; : >"$RUN/startdir/$daemon-empty-watches"
    for ((r = 1; r <= runs; r++)); do # alternated, so load changes hit both alike
      startdir_once "$daemon" "$empty" "$daemon-empty"
      startdir_once "$daemon" / "$daemon-root"
    done
    report name="${daemon}_start_empty_dir" group=coldstart value="$(median "$RUN/samples/startdir-$daemon-empty.txt")" unit=ms \
      note="baseline: $daemon exec to first /health answer, started in an empty directory, median of $runs"
    report name="${daemon}_start_from_root" group=coldstart value="$(median "$RUN/samples/startdir-$daemon-root.txt")" unit=ms \
      base="${daemon}_start_empty_dir" tgt='ratio<=1.2' \
      note="started in / (systemd's default), median of $runs; inotify watches once up: $(sort -un "$RUN/startdir/$daemon-root-watches" | paste -sd/) (empty directory: $(sort -un "$RUN/startdir/$daemon-empty-watches" | paste -sd/))"
  done
  rmdir "$empty"
}
