#!/usr/bin/python3
"""Reads a file storage domain the way VDSM would find it, with python3-sanlock and the
standard library only (a second implementation beside src/storage), and prints JSON.

usage: SANLOCK_RUN_DIR=<daemon run dir> read_domain.py DOMAIN_DIR

Prints: dom_md file sizes and modes, the metadata fields and whether _SHA_CKSUM matches
SHA-1 over the sorted KEY=value lines (persistent.py's rule), sanlock.read_lockspace of
dom_md/ids, sanlock.read_resource of the SDM lease (dom_md/leases at 1 MiB), the xleases
index (xleases_index.py), and for every images/<img>/<vol>: its .meta keys, the
sanlock.read_resource of its .lease at 0, and for a HESD volume read_lockspace at 0.
"""
import hashlib
import json
import os
import stat
import sys

import sanlock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xleases_index  # noqa: E402

MiB = 1024 * 1024


def text(b):
    return b.decode("utf-8") if isinstance(b, bytes) else b


def file_info(path):
    st = os.stat(path)
    return {"size": st.st_size, "mode": "%04o" % stat.S_IMODE(st.st_mode)}


def read_metadata(path):
    with open(path, "rb") as f:
        lines = f.read().rstrip(b"\0").decode("utf-8").splitlines()
    fields = {}
    declared = None
    for line in lines:
        key, value = line.split("=", 1)
        if key == "_SHA_CKSUM":
            declared = value
        else:
            fields[key] = value
    h = hashlib.sha1()
    for key in sorted(fields):
        h.update(("%s=%s" % (key, fields[key])).encode("ascii", "xmlcharrefreplace"))
    order = [line.split("=", 1)[0] for line in lines]
    return {"fields": fields, "checksum": declared, "checksum_ok": declared == h.hexdigest(),
            "sorted": order[:-1] == sorted(order[:-1]) and order[-1:] == ["_SHA_CKSUM"]}


def resource(path, offset):
    try:
        r = sanlock.read_resource(path, offset)
    except sanlock.SanlockException as e:
        return {"error": e.errno}
    return {"lockspace": text(r["lockspace"]), "resource": text(r["resource"]),
            "version": r["version"]}


def lockspace(path, offset=0):
    try:
        r = sanlock.read_lockspace(path, offset)
    except sanlock.SanlockException as e:
        return {"error": e.errno}
    return {"lockspace": text(r["lockspace"]), "iotimeout": r["iotimeout"]}


def read_meta(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line == "EOF":
                break
            if "=" in line:
                k, v = line.split("=", 1)
                out[k] = v
    return out


def main(domain):
    md = os.path.join(domain, "dom_md")
    report = {
        "dom_md": {"mode": file_info(md)["mode"],
                   "files": {n: file_info(os.path.join(md, n)) for n in sorted(os.listdir(md))}},
        "metadata": read_metadata(os.path.join(md, "metadata")),
        "ids": lockspace(os.path.join(md, "ids")),
        "sdm": resource(os.path.join(md, "leases"), MiB),
        "xleases": xleases_index.parse(os.path.join(md, "xleases")),
        "volumes": {},
    }
    images = os.path.join(domain, "images")
    for img in sorted(os.listdir(images)):
        for name in sorted(os.listdir(os.path.join(images, img))):
            if name.endswith(".meta") or name.endswith(".lease"):
                continue
            vol = os.path.join(images, img, name)
            meta = read_meta(vol + ".meta")
            entry = {"image": img, "meta": meta, "volume": file_info(vol),
                     "meta_file": file_info(vol + ".meta"), "lease_file": file_info(vol + ".lease"),
                     "lease": resource(vol + ".lease", 0)}
            if meta.get("DISKTYPE") == "HESD":
                entry["he_lockspace"] = lockspace(vol)
            report["volumes"][name] = entry
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
