#!/usr/bin/env python3
"""Runs the original's storage_server.StorageServer._get_conlist on given settings.

Usage: original_conlist.py <ovirt-hosted-engine-ha checkout>; stdin: one JSON object
{"conf": {hosted-engine.conf keys}, "ifaces": [{"ifaceName", "netIfaceName"}]}.
Prints {"storageType": n, "conList": [...]} with the connection ids numbered 1, 2, …
(the original draws them from uuid.uuid4()).

Only the original's imports that need a host (its Config reader, VDSM's client, the
generated env/constants.py) are stood in for: Config answers from "conf" (a missing
key raises KeyError as the original's does), constants are read from constants.py.in,
_get_iscsi_ifaces answers "ifaces" (the original runs `iscsiadm -m iface`).
"""
import json
import os
import re
import sys
import types
import uuid

src = sys.argv[1]
req = json.load(sys.stdin)
sys.path.insert(0, src)


def stub(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m


class ServerError(Exception):
    pass


stub("vdsm")
stub("vdsm.client", ServerError=ServerError)
constants = {}
with open(os.path.join(src, "ovirt_hosted_engine_ha/env/constants.py.in")) as f:
    for line in f:
        m = re.match(r"^((?:DOMAIN|STORAGE)_TYPE_\w+) = (.+)$", line.strip())
        if m:
            constants[m.group(1)] = eval(m.group(2))  # literals of the original's file
constants["VDSCLI_SSL_TIMEOUT"] = 900
constants["LOOP_DELAY"] = 10
stub("ovirt_hosted_engine_ha.env.constants", **constants)


class Config(object):
    def __init__(self, logger=None):
        pass

    def get(self, section, key):
        return req["conf"][key]


stub("ovirt_hosted_engine_ha.env.config", Config=Config, ENGINE="he_local")
stub("ovirt_hosted_engine_ha.env.path")
stub("ovirt_hosted_engine_ha.lib.util")

from ovirt_hosted_engine_ha.lib import storage_server  # noqa: E402

ids = iter(range(1, 1000))
storage_server.uuid.uuid4 = lambda: "%d" % next(ids)
server = storage_server.StorageServer()
server._get_iscsi_ifaces = lambda: req["ifaces"]
con_list, storage_type = server._get_conlist(None, normalize_path=False)
print(json.dumps({"storageType": storage_type, "conList": con_list}))
