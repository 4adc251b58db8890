#!/usr/bin/env bash
# Measures and checks the policy enforcement mechanism chosen in docs/policy-enforcement.md on this
# kernel, with the stock tools (nft, conntrack, iperf3, busybox): a scene shaped like netplugin's
# datapath (one namespace per network holding the bridge, the vxlan device and the endpoint veths;
# one namespace per container), on two "hosts" joined by a veth underlay. Traffic stays inside the
# namespaces this script creates. Everything is deleted on exit, also on failure.
#   usage: sudo bench/policy-enforcement.sh [ROUNDS] [SECONDS]     (default 3 rounds of 4 s)
set -euo pipefail
ROUNDS=${1:-3}
SECS=${2:-4}
P=cvpe-$$
NS=("$P-br1" "$P-br2" "$P-a" "$P-b" "$P-c")
IPERF_PID=""

TMP=$(mktemp -d)
cleanup() {
  [ -n "$IPERF_PID" ] && kill "$IPERF_PID" 2>/dev/null || true
  rm -rf "$TMP"
  for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
}
trap cleanup EXIT

say() { printf '%s\n' "$*"; }
inns() { local n=$1; shift; ip netns exec "$P-$n" "$@"; }

for n in "${NS[@]}"; do ip netns add "$n"; done
for n in br1 br2; do
  inns "$n" ip link set lo up
  inns "$n" ip link add cvbr-x42 type bridge
  inns "$n" ip link set cvbr-x42 up
done
# underlay between the two hosts' network namespaces, and the vxlan port of each bridge
ip -n "$P-br1" link add ul0 type veth peer name ul0 netns "$P-br2"
inns br1 ip addr add 192.168.251.1/24 dev ul0; inns br1 ip link set ul0 up
inns br2 ip addr add 192.168.251.2/24 dev ul0; inns br2 ip link set ul0 up
inns br1 ip link add vx42 type vxlan id 42 local 192.168.251.1 remote 192.168.251.2 dstport 4789 dev ul0
inns br2 ip link add vx42 type vxlan id 42 local 192.168.251.2 remote 192.168.251.1 dstport 4789 dev ul0
for n in br1 br2; do inns "$n" ip link set vx42 master cvbr-x42 up; done
# containers: a (10.9.0.1, web) and b (10.9.0.2, db) on host 1, c (10.9.0.3, no group) on host 2
attach() { # container host address mtu
  ip -n "$P-$2" link add "cvh-$1" type veth peer name eth0 netns "$P-$1"
  ip -n "$P-$2" link set "cvh-$1" mtu "$4" master cvbr-x42 up
  inns "$1" ip link set lo up
  inns "$1" ip link set eth0 mtu "$4" up
  inns "$1" ip addr add "$3/24" dev eth0
}
attach a br1 10.9.0.1 1450; attach b br1 10.9.0.2 1450; attach c br2 10.9.0.3 1450

brnf() { for n in br1 br2; do inns "$n" sh -c "echo $1 > /proc/sys/net/bridge/bridge-nf-call-iptables"; done; }

# The per-network ruleset: the same on both hosts. $1 = extra rule lines (policy), $2 = filler count
ruleset() {
  local filler="" i
  for ((i = 0; i < $2; i++)); do
    filler+="    ip saddr 10.200.$((i / 250)).$((i % 250 + 1)) ip daddr 10.9.0.0/24 tcp dport $((10000 + i)) accept"$'\n'
  done
  cat <<EOF
table inet contiv
delete table inet contiv
table inet contiv {
  set g_web { type ipv4_addr; elements = { 10.9.0.1 } }
  set g_db { type ipv4_addr; elements = { 10.9.0.2 } }
  chain forward {
    type filter hook forward priority filter; policy accept;
    ct state established,related accept
    ct state invalid drop
$filler$1
  }
}
EOF
}
program() { for n in br1 br2; do ruleset "$1" "$2" | inns "$n" nft -f -; done; }
unprogram() { for n in br1 br2; do inns "$n" nft delete table inet contiv 2>/dev/null || true; done; }

# tcp CONNECT from $1 to $2:$3 (busybox nc; a listener in $4 answers), returns 0 when connected
tcp_ok() {
  inns "$4" busybox timeout 5 busybox nc -l -p "$3" -e /bin/true >/dev/null 2>&1 &
  local l=$!
  sleep 0.3
  local rc=0
  inns "$1" busybox timeout 2 busybox nc "$2" "$3" </dev/null >/dev/null 2>&1 || rc=1
  # ip netns exec becomes busybox timeout, whose nc child would keep the port: end both
  pkill -P "$l" 2>/dev/null || true
  kill "$l" 2>/dev/null || true; wait "$l" 2>/dev/null || true
  return $rc
}
ping_ok() { inns "$1" busybox ping -c 1 -W 1 "$2" >/dev/null 2>&1; }
check() { if eval "$2"; then r=pass; else r=FAIL; FAILED=1; fi; say "  [$r] $1"; }
FAILED=0

say "== functional checks (bridge-nf-call-iptables=1, inet table in each network namespace)"
brnf 1
# db-policy: in tcp deny prio 1, in tcp from web dport 5432 allow prio 10 (compiled highest first);
# db's own out rule denies all tcp: replies must still pass (connection state, not rules)
program "    ip daddr @g_db ip saddr @g_web tcp dport 5432 accept
    ip daddr @g_db meta l4proto tcp drop
    ip saddr @g_db meta l4proto tcp drop
    ip daddr @g_db meta l4proto udp drop
    ip saddr @g_db meta l4proto udp drop" 0
check "web(a) -> db(b):5432 same host allowed (and the SYN-ACK passes db's out deny)" "tcp_ok a 10.9.0.2 5432 b"
check "c (no group, other host) -> db(b):5432 denied" "! tcp_ok c 10.9.0.2 5432 b"
check "web(a) -> db(b):80 denied" "! tcp_ok a 10.9.0.2 80 b"
check "ping a -> b and c -> b allowed (no icmp rule)" "ping_ok a 10.9.0.2 && ping_ok c 10.9.0.2"
check "cross host web(a) -> c allowed" "tcp_ok a 10.9.0.3 7000 c"
inns br1 conntrack -F >/dev/null 2>&1 || true
tcp_ok a 10.9.0.2 5432 b || true
tcp_ok c 10.9.0.2 80 b || true
check "the allowed connection has a conntrack entry on host 1 (the check can see entries)" \
  "inns br1 conntrack -L -p tcp 2>/dev/null | grep -q 'dport=5432 '"
check "the denied SYN (c -> b:80) left no conntrack entry on host 1" \
  "! inns br1 conntrack -L -p tcp 2>/dev/null | grep -q 'dport=80 '"
# UDP: b -> a from port 6000 to 5000 is denied (db out udp deny); then a -> b 5000 -> 6000 is denied
# too (db in udp deny) unless the first packet had left an entry it could ride on as a 'reply'.
inns br1 conntrack -F >/dev/null 2>&1 || true
inns b sh -c 'echo x | busybox timeout 1 busybox nc -u -p 6000 10.9.0.1 5000' >/dev/null 2>&1 || true
check "denied udp b->a left no conntrack entry" "! inns br1 conntrack -L -p udp 2>/dev/null | grep -q 'dport=5000'"
inns b busybox timeout 3 busybox nc -u -l -p 6000 >"/tmp/$P-udp" 2>/dev/null &
l=$!; sleep 0.3
inns a sh -c 'echo ride | busybox timeout 1 busybox nc -u -p 5000 10.9.0.2 6000' >/dev/null 2>&1 || true
wait "$l" 2>/dev/null || true
check "later udp a->b 5000->6000 (would be the 'reply') still denied" "! grep -q ride /tmp/$P-udp"
rm -f "/tmp/$P-udp"
unprogram
program "    ip daddr @g_db meta l4proto icmp drop" 0
check "icmp in deny on db: ping a -> b denied, ping b -> a allowed (echo reply passes)" "! ping_ok a 10.9.0.2 && ping_ok b 10.9.0.1"
unprogram

say "== TCP throughput a -> b over the bridge (iperf3 $SECS s, $ROUNDS rounds, Gbit/s)"
inns b iperf3 -s -B 10.9.0.2 >/dev/null 2>&1 &
IPERF_PID=$!
sleep 0.5
measure() { inns a iperf3 -c 10.9.0.2 -t "$SECS" -O 1 -J 2>/dev/null | jq '.end.sum_received.bits_per_second / 1e9'; }
declare -A results
configs=(nobrnf brnf brnf-table0 brnf-table100)
# The floor of the alternative (tc eBPF on the endpoint veths): a program that only returns
# TC_ACT_OK on both endpoints' veth ingress, without br_netfilter. Real policy would add a
# conntrack map lookup and rule matching to it.
if command -v clang >/dev/null; then
  cat >"$TMP/pass.c" <<'EOC'
__attribute__((section("tc"), used)) int pass(void *skb) { return 0; }
char _license[] __attribute__((section("license"), used)) = "GPL";
EOC
  clang -O2 -target bpf -c "$TMP/pass.c" -o "$TMP/pass.o" && configs+=(tcbpf-pass)
fi
tcbpf() {
  for v in cvh-a cvh-b; do
    if [ "$1" = on ]; then
      inns br1 tc qdisc add dev "$v" clsact
      inns br1 tc filter add dev "$v" ingress bpf da obj "$TMP/pass.o" sec tc
    else
      inns br1 tc qdisc del dev "$v" clsact 2>/dev/null || true
    fi
  done
}
for ((r = 1; r <= ROUNDS; r++)); do
  for cfg in "${configs[@]}"; do
    unprogram
    tcbpf off
    case $cfg in
      nobrnf) brnf 0 ;;
      brnf) brnf 1 ;;
      brnf-table0) brnf 1; program "" 0 ;;
      brnf-table100) brnf 1; program "" 100 ;;
      tcbpf-pass) brnf 0; tcbpf on ;;
    esac
    v=$(measure)
    results[$cfg]+="$v "
    say "  round $r $cfg: $v"
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
base=$(echo "${results[nobrnf]}" | median)
say "== medians, and the median of the per-round ratios to the same round's bridge without br_netfilter"
for cfg in "${configs[@]}"; do
  m=$(echo "${results[$cfg]}" | median)
  ratio=$(paste <(echo "${results[$cfg]}" | tr ' ' '\n' | grep -v '^$') <(echo "${results[nobrnf]}" | tr ' ' '\n' | grep -v '^$') |
    awk '{print $1 / $2}' | median)
  say "  $cfg: $m Gbit/s (paired ratio $(printf '%.2f' "$ratio")x)"
done
say "  load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
exit $FAILED
