#!/usr/bin/env python3
"""Runs the original's own block reader, lib/metadata.py parse_metadata_to_dict, on
blocks we wrote: what a Python host (agent or `hosted-engine --vm-status`) makes of them.

usage: upstream_metadata.py CHECKOUT < {"blocks": [{"id": N, "hex": "..."}]}
CHECKOUT is an ovirt-hosted-engine-ha checkout (test/support/upstream.ts haCheckout). Its package __init__ files and
util.py pull in VDSM, so only the modules metadata.py needs are loaded: the real
lib/exceptions.py and lib/metadata.py, with env/constants built from the integer
constants of the checkout's own env/constants.py.in. Prints one JSON document:
{"parsed": [dict | {"error": str}]}.
"""
import importlib.util
import json
import os
import re
import sys
import types

root = os.path.join(sys.argv[1], "ovirt_hosted_engine_ha")


def package(name, path=None):
    mod = types.ModuleType(name)
    mod.__path__ = [path] if path else []
    sys.modules[name] = mod
    return mod


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


package("ovirt_hosted_engine_ha")
package("ovirt_hosted_engine_ha.env")
constants = types.ModuleType("ovirt_hosted_engine_ha.env.constants")
with open(os.path.join(root, "env", "constants.py.in")) as f:
    for line in f:
        m = re.match(r"^([A-Z_]+) = (\d+)\s*$", line)
        if m:
            setattr(constants, m.group(1), int(m.group(2)))
sys.modules["ovirt_hosted_engine_ha.env.constants"] = constants
package("ovirt_hosted_engine_ha.lib", os.path.join(root, "lib"))
sys.modules["ovirt_hosted_engine_ha.lib.util"] = types.ModuleType("ovirt_hosted_engine_ha.lib.util")
load("ovirt_hosted_engine_ha.lib.exceptions", os.path.join(root, "lib", "exceptions.py"))
metadata = load("ovirt_hosted_engine_ha.lib.metadata", os.path.join(root, "lib", "metadata.py"))

req = json.load(sys.stdin)
out = []
for b in req["blocks"]:
    try:
        out.append(metadata.parse_metadata_to_dict(str(b["id"]), bytes.fromhex(b["hex"]).decode()))
    except Exception as e:  # noqa: BLE001 - the reader's verdict is the result
        out.append({"error": "%s: %s" % (type(e).__name__, e)})
json.dump({"parsed": out}, sys.stdout)
