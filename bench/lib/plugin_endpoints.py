#!/usr/bin/python3
"""Diagnostic: endpoints/s of netplugin alone, without dockerd. Makes the calls dockerd makes for
`docker run --net=X` (IpamDriver.RequestAddress, NetworkDriver.CreateEndpoint, NetworkDriver.Join)
COUNT times with CONCURRENCY threads, prints the rate, then undoes them (Leave, DeleteEndpoint,
ReleaseAddress; not timed).
usage: plugin_endpoints.py SOCKET DOCKER-NETWORK-ID POOL-ID SANDBOX-DIR COUNT CONCURRENCY"""
import concurrent.futures
import os
import sys
import time
import uuid

sys.dont_write_bytecode = True  # no __pycache__ in the repo
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unixhttp import post  # noqa: E402

sock, net_id, pool_id, sandbox_dir = sys.argv[1:5]
count, conc = int(sys.argv[5]), int(sys.argv[6])


def call(name, body):
    status, resp = post(sock, name, body)
    if status != 200 or (isinstance(resp, dict) and resp.get("Err")):
        raise RuntimeError("%s -> %s %s" % (name, status, resp))
    return resp


def up(_):
    ep = uuid.uuid4().hex + uuid.uuid4().hex
    addr = call("IpamDriver.RequestAddress", {"PoolID": pool_id, "Address": "", "Options": None})["Address"]
    opts = {"com.docker.network.endpoint.exposedports": [], "com.docker.network.portmap": []}
    call("NetworkDriver.CreateEndpoint", {"NetworkID": net_id, "EndpointID": ep,
                                          "Interface": {"Address": addr, "AddressIPv6": "", "MacAddress": ""},
                                          "Options": opts})
    call("NetworkDriver.Join", {"NetworkID": net_id, "EndpointID": ep,
                                "SandboxKey": os.path.join(sandbox_dir, ep[:12]), "Options": opts})
    return ep, addr


def down(item):
    ep, addr = item
    call("NetworkDriver.Leave", {"NetworkID": net_id, "EndpointID": ep})
    call("NetworkDriver.DeleteEndpoint", {"NetworkID": net_id, "EndpointID": ep})
    call("IpamDriver.ReleaseAddress", {"PoolID": pool_id, "Address": addr.split("/")[0]})


with concurrent.futures.ThreadPoolExecutor(conc) as pool:
    t0 = time.time()
    made = list(pool.map(up, range(count)))
    elapsed = time.time() - t0
    t1 = time.time()
    list(pool.map(down, made))
    undo = time.time() - t1
print("%.1f %.3f %.3f" % (count / elapsed, elapsed, undo))
