#!/usr/bin/python3
"""The xleases index (format version 1), written and read with Python's struct module
from the documented layout, as a second implementation beside src/storage/xleases.ts.

Layout (VDSM lib/vdsm/storage/xlease.py, restated): the index sits in slot 1 of the
volume (offset = alignment, 1 MiB for 512-byte blocks) and is 62 * 4096 bytes: a
512-byte metadata block ">i x 4s x 48s x 10s x c 440x c" (magic 0x12152016, version
"0001", lockspace, mtime "%010d", updating flag, "\\n"), then 64-byte records
"48s x 11s x 3c" (resource, offset "%011d", updating flag, reserved flag, "\\n").
A lease of record n lives at (3 + n) * alignment.

usage:
  xleases_index.py format PATH LOCKSPACE [MTIME]   write an empty index (volume grown as needed)
  xleases_index.py add PATH RECNUM LEASE_ID [u]    write record RECNUM (flag u: updating)
  xleases_index.py set-meta PATH FIELD VALUE       overwrite magic|version|updating in the metadata
  xleases_index.py parse PATH                      print metadata and used records as JSON
"""
import json
import struct
import sys

ALIGNMENT = 1024 * 1024
INDEX_OFFSET = ALIGNMENT
INDEX_SIZE = 62 * 4096
METADATA_SIZE = 512
RECORD_SIZE = 64
MAX_RECORDS = (INDEX_SIZE - METADATA_SIZE) // RECORD_SIZE
MAGIC = 0x12152016
META = struct.Struct(">i x 4s x 48s x 10s x c 440x c")
RECORD = struct.Struct("48s x 11s x 3c")


def lease_offset(recnum, alignment=ALIGNMENT):
    return (3 + recnum) * alignment


def meta_bytes(lockspace, mtime, updating=False, magic=MAGIC, version=b"0001"):
    return META.pack(magic, version, lockspace.encode("ascii"), b"%010d" % mtime,
                     b"u" if updating else b"-", b"\n")


def record_bytes(resource, offset, updating=False):
    return RECORD.pack(resource.encode("ascii"), b"%011d" % offset,
                       b"u" if updating else b"-", b"-", b"\n")


def format_index(path, lockspace, mtime, alignment=ALIGNMENT):
    data = meta_bytes(lockspace, mtime) + record_bytes("", 0) * MAX_RECORDS
    assert len(data) == INDEX_SIZE
    with open(path, "r+b") as f:
        f.seek(alignment)
        f.write(data)


def write_record(path, recnum, resource, updating=False, alignment=ALIGNMENT):
    with open(path, "r+b") as f:
        f.seek(alignment + METADATA_SIZE + recnum * RECORD_SIZE)
        f.write(record_bytes(resource, lease_offset(recnum, alignment), updating))


def parse(path, alignment=ALIGNMENT):
    with open(path, "rb") as f:
        f.seek(alignment)
        data = f.read(INDEX_SIZE)
    magic, version, lockspace, mtime, updating, end = META.unpack(data[:METADATA_SIZE])
    records = []
    empty = 0
    for n in range(MAX_RECORDS):
        start = METADATA_SIZE + n * RECORD_SIZE
        res, off, upd, reserved, term = RECORD.unpack(data[start:start + RECORD_SIZE])
        if res.rstrip(b"\0") == b"" and off == b"%011d" % 0 and upd == b"-" \
                and reserved == b"-" and term == b"\n":
            empty += 1
            continue
        records.append({"recnum": n, "resource": res.rstrip(b"\0").decode("ascii"),
                        "offset": int(off), "updating": upd.decode(),
                        "reserved": reserved.decode(), "term": term.decode()})
    return {
        "magic": magic, "version": version.decode(), "lockspace":
        lockspace.rstrip(b"\0").decode("ascii"), "mtime": int(mtime),
        "updating": updating.decode(), "end": end.decode(),
        "padding_zero": data[71:511] == b"\0" * 440 and data[4:5] == b"\0"
        and data[9:10] == b"\0" and data[58:59] == b"\0" and data[69:70] == b"\0",
        "records": records, "empty_records": empty, "max_records": MAX_RECORDS,
    }


def set_meta(path, field, value, alignment=ALIGNMENT):
    with open(path, "r+b") as f:
        f.seek(alignment)
        block = bytearray(f.read(METADATA_SIZE))
        if field == "magic":
            struct.pack_into(">i", block, 0, int(value, 0))
        elif field == "version":
            block[5:9] = value.encode("ascii")
        elif field == "updating":
            block[70:71] = value.encode("ascii")
        else:
            raise SystemExit("unknown field %s" % field)
        f.seek(alignment)
        f.write(bytes(block))


def main(argv):
    cmd = argv[1]
    if cmd == "format":
        format_index(argv[2], argv[3], int(argv[4]) if len(argv) > 4 else 1700000000)
    elif cmd == "add":
        write_record(argv[2], int(argv[3]), argv[4], len(argv) > 5 and argv[5] == "u")
    elif cmd == "set-meta":
        set_meta(argv[2], argv[3], argv[4])
    elif cmd == "parse":
        print(json.dumps(parse(argv[2])))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
