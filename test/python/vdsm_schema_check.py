#!/usr/bin/env python3
"""Checks JSON-RPC requests with VDSM's own API schema code in strict mode.

Usage: vdsm_schema_check.py <vdsm checkout> <work dir>  (requests on stdin, one JSON
object {"method": "Class.verb", "params": {...}} per line)

VDSM validates requests with lib/vdsm/api/vdsmapi.py Schema against vdsm-api.yml,
compiled to a pickle at build time (schema_to_pickle.py); this script compiles it into
<work dir> with VDSM's own schema_to_pickle.py, points Schema at it, and prints, per
request, a JSON line {"method", "ok", "error"} from Schema.verify_args with
strict_mode=True (what VDSM does with api_strict_mode = true).
"""
import json
import os
import subprocess
import sys

src, work = sys.argv[1], sys.argv[2]
lib = os.path.join(src, "lib")
api_dir = os.path.join(lib, "vdsm", "api")
pickle_path = os.path.join(work, "vdsm-api.pickle")
subprocess.run(
    [sys.executable, os.path.join(api_dir, "schema_to_pickle.py"),
     os.path.join(api_dir, "vdsm-api.yml"), pickle_path],
    check=True,
)
sys.path.insert(0, lib)
from vdsm.api import vdsmapi  # noqa: E402

vdsmapi.SchemaType.path = lambda self: os.path.join(work, self.value + ".pickle")
schema = vdsmapi.Schema.vdsm_api(strict_mode=True)

for line in sys.stdin:
    if not line.strip():
        continue
    req = json.loads(line)
    cls, verb = req["method"].split(".", 1)
    out = {"method": req["method"], "ok": True, "error": None}
    try:
        rep = vdsmapi.MethodRep(cls, verb)
        schema.get_method(rep)
        schema.verify_args(rep, req["params"])
    except Exception as e:  # the schema's verdict, reported to the test
        out["ok"] = False
        out["error"] = "%s: %s" % (type(e).__name__, e)
    print(json.dumps(out), flush=True)
