#!/usr/bin/python3
"""A host of the Python services, as far as the engine VM's lease goes.

On a host running the original ovirt-ha-agent, VDSM joins the storage domain's lockspace
(<sdUUID> on dom_md/ids, with the hosted-engine host id) and libvirt's sanlock lock
driver acquires the engine VM's <lease> for the qemu process. This process plays both,
through python3-sanlock (the sanlock project's own Python binding, not our code), talking
to the sanlock daemon that SANLOCK_RUN_DIR names. It registers itself, as libvirt
registers qemu, so the lease belongs to this process and dies with it.

Commands on stdin, one per line; one answer line each on stdout:
  join <lockspace> <host_id> <ids path> [io_timeout] -> ok join | err join <errno> <message>
      (io_timeout: the lockspace io_timeout this host joins with, as VDSM passes its
      [sanlock] io_timeout, 10 by default; 1 when absent, the tests' fast timing)
  acquire <lockspace> <resource> <path> <offset> -> ok acquire | err acquire <errno> <message>
  release <lockspace> <resource> <path> <offset> -> ok release | err release ...
  owners <lockspace> <resource> <path> <offset>  -> ok owners <host_id>:<generation>,... | err ...
  leave <lockspace> <host_id> <ids path>         -> ok leave | err leave ...
As VDSM creates a domain's areas (sector size 512|4096, alignment in bytes, through the
daemon):
  write_lockspace <lockspace> <path> <offset> <align> <sector>            -> ok write_lockspace
  write_resource <lockspace> <resource> <path> <offset> <align> <sector>  -> ok write_resource
  read_resource <path> <offset> <align> <sector> -> ok read_resource <lockspace> <resource>
  owners ... <align> <sector>: owners read with that geometry
EOF at stdin: exit (sanlock releases what this process held).
"""
import sys

import sanlock

fd = None


def b(s):
    return s.encode("utf-8")


def main():
    global fd
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        cmd, args = words[0], words[1:]
        try:
            if cmd == "join":
                ls, host_id, path = args[:3]
                io_timeout = int(args[3]) if len(args) > 3 else 1
                sanlock.add_lockspace(b(ls), int(host_id), path, iotimeout=io_timeout)
                out = "ok join"
            elif cmd == "acquire":
                ls, res, path, offset = args
                if fd is None:
                    fd = sanlock.register()
                sanlock.acquire(b(ls), b(res), [(path, int(offset))], slkfd=fd)
                out = "ok acquire"
            elif cmd == "release":
                ls, res, path, offset = args
                sanlock.release(b(ls), b(res), [(path, int(offset))], slkfd=fd)
                out = "ok release"
            elif cmd == "owners":
                ls, res, path, offset = args[:4]
                geometry = {}
                if len(args) == 6:
                    geometry = {"align": int(args[4]), "sector": int(args[5])}
                owners = sanlock.read_resource_owners(
                    b(ls), b(res), [(path, int(offset))], **geometry
                )
                out = "ok owners " + ",".join(
                    "%d:%d" % (o["host_id"], o["generation"]) for o in owners
                )
            elif cmd == "write_lockspace":
                ls, path, offset, align, sector = args
                sanlock.write_lockspace(
                    b(ls), path, offset=int(offset), iotimeout=1,
                    align=int(align), sector=int(sector),
                )
                out = "ok write_lockspace"
            elif cmd == "write_resource":
                ls, res, path, offset, align, sector = args
                sanlock.write_resource(
                    b(ls), b(res), [(path, int(offset))],
                    align=int(align), sector=int(sector),
                )
                out = "ok write_resource"
            elif cmd == "read_resource":
                path, offset, align, sector = args
                r = sanlock.read_resource(
                    path, offset=int(offset), align=int(align), sector=int(sector)
                )
                out = "ok read_resource %s %s" % (
                    r["lockspace"].decode(), r["resource"].decode()
                )
            elif cmd == "leave":
                ls, host_id, path = args
                sanlock.rem_lockspace(b(ls), int(host_id), path)
                out = "ok leave"
            else:
                out = "err %s 0 unknown command" % cmd
        except sanlock.SanlockException as e:
            out = "err %s %d %s" % (cmd, e.errno, str(e).replace("\n", " "))
        print(out, flush=True)


if __name__ == "__main__":
    main()
