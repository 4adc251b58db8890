#!/bin/sh
# Entry point of the managed netplugin: settings left empty in `docker plugin set` mean "netplugin's
# default", so they are unset rather than passed as empty strings.
for v in CONTIV_CLUSTER_STORE CONTIV_NETPLUGIN_HOST CONTIV_NETPLUGIN_VTEP_IP CONTIV_NETPLUGIN_VLAN_UPLINKS \
  CONTIV_NETPLUGIN_VXLAN_PORT CONTIV_NETPLUGIN_MTU CONTIV_NETPLUGIN_DNS_LISTEN CONTIV_NETPLUGIN_SCOPE; do
  eval "[ -n \"\${$v:-}\" ] || unset $v"
done
exec /netplugin/Contiv.NetPlugin "$@"
