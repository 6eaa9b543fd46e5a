#!/usr/bin/env python3
"""The four calls VDSM makes through ovirt_hosted_engine_ha.client.client.HAClient
(lib/vdsm/host/api.py, host/caps.py, API.py), restated: what each reads, writes and
sends on the broker's socket, as the original library does it (client.py, brokerlink.py,
env/config.py of ovirt-hosted-engine-ha 2.5). The library itself is not used: it
cannot be fetched where the tests run (no network but the npm and Debian registries).

- get_local_host_id(): host_id from /etc/ovirt-hosted-engine/hosted-engine.conf
- is_deployed(): that file (the only mandatory configuration file) exists, not empty
- get_all_stats(): XML-RPC get_stats, then is_host_alive for each host's live-data
- set_maintenance_mode(GLOBAL, v): get_stats, global block updated, put_stats(0, block)
- set_maintenance_mode(LOCAL, v): local_maintenance=<v> in ha.conf (state directory)

usage: haclient_calls.py ROOT   (ROOT = HE_HA_ROOT of the host; "/" on a real host)
Prints one JSON document.
"""
import json
import os
import sys
import xmlrpc.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_client import proxy, set_global_maintenance  # noqa: E402


def paths(root):
    return {
        "conf": os.path.join(root, "etc/ovirt-hosted-engine/hosted-engine.conf"),
        "socket": os.path.join(root, "var/run/ovirt-hosted-engine-ha/broker.socket"),
        "ha_conf": os.path.join(root, "var/lib/ovirt-hosted-engine-ha/ha.conf"),
    }


def read_key_value(path):
    out = {}
    with open(path) as f:
        for line in f:
            if "=" in line and not line.lstrip().startswith("#"):
                k, v = line.split("=", 1)
                out[k.strip()] = v.strip()
    return out


def get_local_host_id(p):
    host_id = read_key_value(p["conf"]).get("host_id")
    return int(host_id) if host_id else None


def is_deployed(p):
    return os.path.exists(p["conf"]) and os.path.getsize(p["conf"]) > 0


def parse_block(text):
    """metadata.parse_metadata_to_dict, the parts VDSM reads: key=value lines."""
    md = {}
    for line in text.rstrip("\0").split("\n")[1:]:
        if "=" in line:
            k, v = line.split("=", 1)
            md[k] = v
    return md


def get_all_stats(p):
    broker = proxy(p["socket"])
    stats = {int(k): v.data.decode() for k, v in broker.get_stats().items()}
    alive = broker.is_host_alive() or []
    out = {}
    for host_id, text in stats.items():
        if host_id == 0:
            out[0] = {"global": text.rstrip("\0")}
            continue
        md = parse_block(text)
        md["live-data"] = host_id in alive
        out[host_id] = md
    return out


def set_local_maintenance(p, value):
    """config.set(HA, 'local_maintenance', str(value)) rewrites ha.conf."""
    values = read_key_value(p["ha_conf"]) if os.path.exists(p["ha_conf"]) else {}
    values["local_maintenance"] = str(bool(value))
    with open(p["ha_conf"], "w") as f:
        for k, v in values.items():
            f.write("{0}={1}\n".format(k, v))


def main():
    p = paths(sys.argv[1])
    out = {
        "get_local_host_id": get_local_host_id(p),
        "is_deployed": is_deployed(p),
        "get_all_stats": {str(k): v for k, v in get_all_stats(p).items()},
        "set_maintenance_mode_global": set_global_maintenance(proxy(p["socket"]), True),
    }
    out["get_all_stats_after_global"] = get_all_stats(p)[0]
    set_local_maintenance(p, True)
    out["ha_conf_after_local"] = open(p["ha_conf"]).read()
    json.dump(out, sys.stdout, sort_keys=True, default=str)
    sys.stdout.write("\n")


if __name__ == "__main__":
    try:
        main()
    except xmlrpc.client.Fault as e:
        raise SystemExit("fault {0}: {1}".format(e.faultCode, e.faultString))
