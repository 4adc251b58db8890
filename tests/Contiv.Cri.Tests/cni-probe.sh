#!/bin/sh
# A CNI plugin that only watches: records what the runtime hands it (environment and stdin) under
# ../probe next to its bin dir, and for ADD waits until the test creates probe/release-$CNI_CONTAINERID
# (at most 60 s) so the test can look at the runtime while the ADD is in flight; then answers a
# made-up address. The network namespace is left untouched.
dir="$(cd "$(dirname "$0")/.." && pwd)/probe"
mkdir -p "$dir"
n=$(ls "$dir" | grep -c '\.env$')
rec="$dir/$(printf %03d "$n")-${CNI_COMMAND:-none}"
stdin=$(cat)
env | sort >"$rec.env.tmp"
printf '%s' "$stdin" >"$rec.stdin"
mv "$rec.env.tmp" "$rec.env"
case "$CNI_COMMAND" in
  ADD)
    i=0
    while [ ! -e "$dir/release-$CNI_CONTAINERID" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
    echo "$(date +%s.%N) released after $i polls" >"$rec.released"
    printf '{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"%s"}],"ips":[{"address":"10.99.7.%d/24","interface":0}]}\n' \
      "$CNI_NETNS" $((n % 200 + 10))
    ;;
  VERSION)
    printf '{"cniVersion":"1.0.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0"]}\n'
    ;;
esac
exit 0
