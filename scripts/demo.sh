#!/usr/bin/env bash
# ContivDocker demo: replays the Contiv "Container Networking Tutorial (Legacy Swarm)" on a lab of
# namespace hosts on this machine. h1 plays legacy-swarm-master (Redis, netmaster, netplugin),
# h2 plays legacy-swarm-worker0 (netplugin). Chapters 2-5: multi-host networks, tenants, external
# connectivity (NAT, published ports, a VLAN network tagged on the wire), Docker overlay alongside. Every command is printed with the host it runs on,
# then its real output. Everything is torn down at the end (DEMO_KEEP=1 keeps the lab running).
# Chapters after the tutorial show what ContivDocker adds: "names" (names across hosts on networks
# with a gateway, unknown names answered at once), "policy" (endpoint groups, Contiv's web/db
# policy enforced in the kernel, rules changed live, a bandwidth profile measured with iperf3).
# "kubernetes" replays Contiv's Kubernetes tutorial (multi-host networking with Contiv): pods on two
# nodes run over CRI by each node's containerd, which executes contivk8s, the CNI plugin.
#   usage: sudo scripts/demo.sh [CHAPTER...]     chapters: 2 3 4 5 names policy kubernetes (default: all, in order)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export LAB_DIR="${LAB_DIR:-/tmp/contiv-demo}" LAB_PREFIX="${LAB_PREFIX:-demo}" LAB_QUIET=1
# Docker's own overlay (chapter 5) keeps 4789; Contiv's VXLAN uses another port so both run at once.
export CONTIV_VXLAN_PORT="${CONTIV_VXLAN_PORT:-8472}"

scripts/install-deps.sh
if [ ! -x artifacts/netplugin/netplugin ] || [ -n "${DEMO_REBUILD:-}" ]; then scripts/build.sh; fi

# shellcheck source=lib/contiv.sh
source scripts/lib/contiv.sh

bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
chapter() { printf '\n\033[1;34m### %s\033[0m\n' "$*"; }
# on hN CMD...: print the command as the tutorial shows it, then run it on that host.
on() {
  local h="$1"; shift
  printf '\n\033[32m[%s]$\033[0m %s\n' "$h" "$*"
  case "$1" in
    netctl) shift; lab_exec "$h" "$CONTIV_ARTIFACTS/netctl/netctl" "$@" ;;
    docker) shift; lab_docker "$h" "$@" ;;
    *) lab_exec "$h" "$@" ;;
  esac
}

cleanup() { [ -n "${DEMO_KEEP:-}" ] && { echo "lab kept: source scripts/lib/contiv.sh; LAB_DIR=$LAB_DIR LAB_PREFIX=$LAB_PREFIX"; return; }; contiv_down >/dev/null 2>&1 || true; }
trap cleanup EXIT
contiv_down >/dev/null 2>&1 || true

CHAPTERS=("$@")
[ ${#CHAPTERS[@]} -gt 0 ] || CHAPTERS=(2 3 4 5 names policy kubernetes)
for c in "${CHAPTERS[@]}"; do
  case "$c" in 2 | 3 | 4 | 5 | names | policy | kubernetes) ;; *) echo "demo.sh: unknown chapter '$c' (chapters: 2 3 4 5 names policy kubernetes)" >&2; exit 2 ;; esac
done

chapter "Setup: two Docker hosts (h1 = master, h2 = worker), Redis + netmaster on h1, netplugin on both"
contiv_up 2
on h1 netctl version
on h1 docker info --format '{{.Name}}: {{.ServerVersion}}, plugins: {{.Plugins.Network}}'

chapter_2() {
chapter "Chapter 2: Multi-host networking"
on h1 netctl net create --subnet=10.1.2.0/24 contiv-net
on h1 netctl net ls
contiv_wait_docker_network h1 contiv-net && contiv_wait_docker_network h2 contiv-net
on h1 docker network ls
on h1 docker network inspect contiv-net
on h1 docker run -itd --name=contiv-c1 --net=contiv-net contiv/busybox /bin/sh
on h2 docker run -itd --name=contiv-c2 --net=contiv-net contiv/busybox /bin/sh
on h1 docker ps
on h2 docker ps
on h2 docker exec contiv-c2 ping -c 3 contiv-c1
}

# Chapters 4 and 5 use chapter 2's containers: run it first when it was not chosen.
need_chapter_2() { lab_docker h1 inspect contiv-c1 >/dev/null 2>&1 || chapter_2; }

chapter_3() {
chapter "Chapter 3: Using multiple tenants with arbitrary IPs in the networks"
on h1 netctl tenant create blue
on h1 netctl tenant ls
on h1 netctl net create -t blue --subnet=10.1.2.0/24 contiv-net
on h1 netctl net ls -t blue
contiv_wait_docker_network h1 contiv-net/blue && contiv_wait_docker_network h2 contiv-net/blue
on h2 docker run -itd --name=contiv-blue-c1 --net=contiv-net/blue contiv/busybox /bin/sh
on h1 docker run -itd --name=contiv-blue-c2 --net=contiv-net/blue contiv/busybox /bin/sh
on h2 docker run -itd --name=contiv-blue-c3 --net=contiv-net/blue contiv/busybox /bin/sh
on h1 docker network inspect contiv-net/blue
on h2 docker exec contiv-blue-c3 ping -c 3 contiv-blue-c1
on h2 docker exec contiv-blue-c3 ping -c 3 contiv-blue-c2

bold "See the containers connected to the network"
sleep 1
on h1 netctl net inspect contiv-net
}

chapter_4() {
need_chapter_2
chapter "Chapter 4: Connecting containers to external networks"
bold "4.1 External connectivity using host NATing (docker_gwbridge); the lab's 'outside world' is 192.168.2.200"
lab_add_outside_ns >/dev/null
on h1 docker exec contiv-c1 ifconfig -a
on h1 docker exec contiv-c1 ping -c 3 192.168.2.200
on h1 busybox nc -w 1 localhost 9099 || true
on h1 docker run -itd -p 9099:9099 --name=contiv-exposed --net=contiv-net contiv/busybox sh -c 'while true; do echo hello from contiv-exposed | nc -l -p 9099; done'
sleep 1
on h1 busybox nc -w 1 localhost 9099
on h1 iptables -t nat -L -n

bold "4.2 Natively connecting to external networks: a VLAN network (uplink eth2, VLAN 112)"
on h1 netctl net create -p 112 -e vlan -s 10.1.3.0/24 contiv-vlan
on h1 netctl net ls
contiv_wait_docker_network h1 contiv-vlan && contiv_wait_docker_network h2 contiv-vlan
on h1 docker run -itd --name=contiv-vlan-c1 --net=contiv-vlan contiv/busybox /bin/sh
on h2 docker run -itd --name=contiv-vlan-c2 --net=contiv-vlan contiv/busybox /bin/sh
printf '\n\033[32m[h1]$\033[0m tcpdump -e -i eth2 icmp   (while h2 pings)\n'
lab_exec h1 timeout 8 tcpdump -e -nn -i eth2 -c 3 icmp 2>/dev/null &
capture=$!
sleep 1
on h2 docker exec contiv-vlan-c2 ping -c 3 contiv-vlan-c1
wait "$capture" || true
}

chapter_5() {
need_chapter_2
chapter "Chapter 5: Docker overlay multi-host networking, next to Contiv (netplugin keeps running)"
bold "Contiv's VXLAN port is configurable (this lab: $CONTIV_VXLAN_PORT); Docker's overlay uses 4789"
on h1 docker swarm init --advertise-addr "$(lab_host_ip h1)"
on h2 docker swarm join --token "$(lab_docker h1 swarm join-token -q worker)" "$(lab_host_ip h1):2377"
on h1 docker network create -d=overlay --attachable --subnet=30.1.1.0/24 overlay-net
on h1 docker network inspect overlay-net
on h1 docker run -itd --name=overlay-c1 --net=overlay-net contiv/busybox /bin/sh
on h2 docker run -itd --name=overlay-c2 --net=overlay-net contiv/busybox /bin/sh
on h1 docker inspect --format='{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' overlay-c1
on h2 docker exec overlay-c2 ping -c 3 overlay-c1
on h2 docker exec contiv-c2 ping -c 3 contiv-c1
}

chapter_names() {
chapter "Names across hosts on a network with a gateway (ContivDocker)"
bold "A gateway means no docker_gwbridge: each host's DNS responder also answers inside the network, on-link"
on h1 netctl tenant create red
on h1 netctl net create --subnet=10.1.5.0/24 --gateway=10.1.5.1 gw-net
on h1 netctl net create -t red --subnet=10.1.5.0/24 --gateway=10.1.5.1 gw-net
contiv_wait_docker_network h1 gw-net && contiv_wait_docker_network h2 gw-net
contiv_wait_docker_network h1 gw-net/red && contiv_wait_docker_network h2 gw-net/red
on h1 docker run -itd --name=web-1 --net=gw-net contiv/busybox /bin/sh
on h2 docker run -itd --name=web-2 --net=gw-net contiv/busybox /bin/sh
on h2 docker run -itd --name=red-web-2 --net=gw-net/red contiv/busybox /bin/sh
on h1 docker exec web-1 ip route
on h1 docker exec web-1 ping -c 3 web-2
bold "Another tenant's name and an unknown name: an immediate answer (REFUSED), not a timeout"
on h1 docker exec web-1 nslookup red-web-2 || true
on h1 docker exec web-1 nslookup no-such-container || true
on h2 docker exec red-web-2 ping -c 2 -W 1 web-1 || true
}

chapter_policy() {
chapter "Policy: Contiv's policy tutorial (chapters 1 and 2) on a VLAN network with a gateway"
on h1 netctl tenant create TestTenant
on h1 netctl network create --tenant TestTenant --subnet=10.1.1.0/24 --gateway=10.1.1.254 -e vlan TestNet
on h1 netctl net ls -a
on h1 netctl group create -t TestTenant TestNet epgA
on h1 netctl group create -t TestTenant TestNet epgB
on h1 netctl group ls -a
contiv_wait_docker_network h1 epgA/TestTenant && contiv_wait_docker_network h2 epgB/TestTenant
on h1 docker network ls --filter driver=netplugin
on h1 docker run -itd --net=epgA/TestTenant --name=AContainer contiv/busybox sh
on h2 docker run -itd --net=epgB/TestTenant --name=BContainer contiv/busybox sh
on h1 docker exec AContainer ping -c 2 10.1.1.2
bold "Chapter 1: ICMP policy (epgB denies ICMP from epgA)"
on h1 netctl policy create -t TestTenant policyAB
on h1 netctl policy rule-add -t TestTenant -d in --protocol icmp --from-group epgA --action deny policyAB 1
on h1 netctl group create -t TestTenant -p policyAB TestNet epgB
on h1 netctl policy ls -a
on h1 netctl policy rule-ls -t TestTenant policyAB
on h1 docker exec AContainer ping -c 2 -W 1 10.1.1.2 || true
bold "Chapter 2: TCP policy (port 8001 from epgA allowed; AContainer listens on 8001 only)"
on h1 netctl policy rule-add -t TestTenant -d in --protocol tcp --port 8001 --from-group epgA --action allow policyAB 3
on h1 netctl policy rule-ls -t TestTenant policyAB
on h1 docker exec -d AContainer nc -ll -p 8001 -e echo 8001 open
sleep 0.5
on h2 docker exec BContainer nc -w 1 10.1.1.1 8001
on h2 docker exec BContainer nc -w 1 10.1.1.1 8000 || true

chapter "Policy beyond the tutorial: Contiv's web/db scenario, rules changed live, refusals, a bandwidth profile"
on h1 netctl net create --subnet=10.1.6.0/24 app-net
on h1 netctl group create app-net web
on h1 netctl policy create db-policy
on h1 netctl policy rule-add -d in -l tcp -j deny db-policy 1
on h1 netctl policy rule-add -d in -l tcp -g web -P 5432 -j allow -p 10 db-policy 2
on h1 netctl group create -p db-policy app-net db
on h1 netctl group ls
contiv_wait_docker_network h1 web && contiv_wait_docker_network h2 db && contiv_wait_docker_network h1 app-net
bold "db listens on 5432 and 8080; web and a container in no group try both (by name)"
on h2 docker run -itd --name=db --net=db contiv/busybox sh -c 'nc -ll -p 5432 -e echo db:5432 answers & nc -ll -p 8080 -e echo db:8080 answers & exec sleep 3600'
on h1 docker run -itd --name=web-c1 --net=web contiv/busybox /bin/sh
on h1 docker run -itd --name=other-c1 --net=app-net contiv/busybox /bin/sh
on h1 docker exec web-c1 nc -w 2 db 5432
on h1 docker exec web-c1 nc -w 2 db 8080 || true
on h1 docker exec other-c1 nc -w 2 db 5432 || true
on h1 docker exec other-c1 ping -c 2 db
bold "A rule added live denies ICMP to db; removing it opens the path again (no container restart)"
on h1 netctl policy rule-add -d in -l icmp -j deny -p 20 db-policy 3
sleep 1
on h1 docker exec other-c1 ping -c 2 -W 1 db || true
on h1 netctl policy rule-rm db-policy 3
sleep 1
on h1 docker exec other-c1 ping -c 2 db
on h1 netctl group inspect db
bold "What is in use cannot be deleted"
on h1 netctl policy rm db-policy || true
on h1 netctl net rm app-net || true
bold "A bandwidth profile: web's endpoints limited to 50 Mbit/s (iperf3 from the host, inside the containers' namespaces)"
on h1 netctl netprofile create -b 50mbps web-bw
on h1 netctl group create -n web-bw app-net web
on h2 docker run -itd --name=web-c2 --net=web contiv/busybox /bin/sh
local srv cli
srv=$(lab_docker h1 inspect -f '{{.State.Pid}}' other-c1); cli=$(lab_docker h2 inspect -f '{{.State.Pid}}' web-c2)
nsenter -t "$srv" -n timeout 20 iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
sleep 0.5
printf '\n\033[32m[h2]$\033[0m iperf3 -c other-c1 -t 3 -f m   (from web-c2)\n'
nsenter -t "$cli" -n timeout 15 iperf3 -c "$(lab_docker h1 inspect -f '{{(index .NetworkSettings.Networks "app-net").IPAddress}}' other-c1)" -p 5201 -t 3 -f m | tail -4
wait || true
}

# kube hN ARGS...: what kubectl + kubelet do on node hN, over its containerd's CRI socket.
kube() {
  local h="$1"; shift
  printf '\n\033[32m[%s]$\033[0m contiv-crictl %s\n' "$h" "$*"
  dotnet "$ROOT/tests/Contiv.CriCtl/bin/Release/net10.0/Contiv.CriCtl.dll" --endpoint "$(cri_socket "$h")" "$@"
}

chapter_kubernetes() {
chapter "Kubernetes: Contiv's Kubernetes tutorial, multi-host networking with the contivk8s CNI plugin"
# shellcheck source=lib/cri.sh
source scripts/lib/cri.sh
bold "Each node runs containerd with its CRI plugin, which executes contivk8s from the node's CNI bin dir with the conflist install.sh ships (/etc/cni/net.d/10-contiv.conflist); netplugin reads the pods' labels from containerd. No kubelet here: contiv-crictl makes the CRI calls kubelet would (RunPodSandbox, CreateContainer, StartContainer, ExecSync)."
for h in h1 h2; do
  mkdir -p "$(cri_cni_bin_dir "$h")" "$(cri_cni_conf_dir "$h")"
  cri_install_reference_plugins "$h" loopback
  ln -sfn "$CONTIV_ARTIFACTS/contivk8s/contivk8s" "$(cri_cni_bin_dir "$h")/contivk8s"
  cp scripts/systemd/10-contiv.conflist "$(cri_cni_conf_dir "$h")/"
  cri_start_containerd "$h"
done
on h1 cat "$(cri_cni_conf_dir h1)/10-contiv.conflist"
if lab_exec h1 "$CONTIV_ARTIFACTS/netctl/netctl" net inspect contiv-net >/dev/null 2>&1; then
  bold "The tutorial starts from a fresh cluster: chapter 2's contiv-net (no gateway) and its containers go"
  for h in h1 h2; do lab_docker "$h" rm -f $(lab_docker "$h" ps -aq --filter network=contiv-net) >/dev/null 2>&1 || true; done
  on h1 netctl net delete contiv-net
fi
on h1 netctl net create --subnet=10.1.2.0/24 --gateway=10.1.2.1 contiv-net
on h1 netctl net ls
on h1 netctl net inspect contiv-net
bold "contiv-c1 on the master node (h1), labelled io.contiv.tenant: default, io.contiv.network: contiv-net"
kube h1 run-pod contiv-c1 --label io.contiv.tenant=default --label io.contiv.network=contiv-net --label k8s-app=contiv-c1 --cgroup-parent "/$LAB_PREFIX-h1/pods" | tee /tmp/demo-c1.id
local c1 c2; c1=$(tail -n 1 /tmp/demo-c1.id)
kube h1 pods
kube h1 exec "$c1" ifconfig
bold "contiv-c2 on the worker node (h2)"
kube h2 run-pod contiv-c2 --label io.contiv.tenant=default --label io.contiv.network=contiv-net --label k8s-app=contiv-c2 --cgroup-parent "/$LAB_PREFIX-h2/pods" | tee /tmp/demo-c2.id
c2=$(tail -n 1 /tmp/demo-c2.id); rm -f /tmp/demo-c1.id /tmp/demo-c2.id
kube h2 pods
kube h2 exec "$c2" ifconfig eth0
kube h2 exec "$c2" ping -c 3 10.1.2.2
bold "A Docker container on the same network (on h2) and the pod on h1 reach each other"
contiv_wait_docker_network h2 contiv-net
on h2 docker run -d --name=docker-c3 --net=contiv-net contiv/busybox sleep 600
on h2 docker exec docker-c3 ping -c 2 10.1.2.2
kube h1 exec "$c1" ping -c 2 10.1.2.4
on h1 netctl net inspect contiv-net
bold "A pod naming a network that does not exist does not start, with Contiv's reason"
kube h2 run-pod lost --label io.contiv.network=no-such-net || true
bold "Deleting the pods (CNI DEL) gives their addresses back"
kube h1 rm-pod contiv-c1
kube h2 rm-pod contiv-c2
on h2 docker rm -f docker-c3
on h1 netctl net inspect contiv-net
for h in h1 h2; do cri_stop_containerd "$h"; done
}

for c in "${CHAPTERS[@]}"; do "chapter_$c"; done

bold "Demo finished: every command above ran for real on this machine."
