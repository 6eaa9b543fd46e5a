"""
The original's whiteboard read + decode, run on our bytes (bench/whiteboard.ts).

Imports ovirt_hosted_engine_ha.lib.metadata from the checkout on PYTHONPATH
($HE_HA_UPSTREAM/ovirt-hosted-engine-ha, bench/whiteboard.ts) and calls its own parse functions on every non-empty segment, after
reading the file the way its StorageBroker.get_raw_stats() does (one O_DIRECT | O_SYNC
read of 2001 segments into an mmap'ed buffer, decoded as UTF-8 and split into 4 KiB
segments). Only what metadata.py imports but the parse functions never use is stood in
for: env/constants.py is generated at build time from constants.py.in (its @...@ paths
are left empty here) and lib/util.py imports VDSM's packages (yajsonrpc, vdsm.*) at
module level, which are stubbed.

argv: <metadata file> <iterations> <warmup>. Prints one JSON object: wall and CPU
milliseconds per iteration, and the host count of the last one.
"""
import json
import logging
import mmap
import os
import re
import sys
import time
import types
from contextlib import closing

pkg_dir = os.path.join(os.environ["PYTHONPATH"].split(os.pathsep)[0], "ovirt_hosted_engine_ha")

class _Stub(types.ModuleType):
    """Any attribute is another stub: enough for module-level imports never called."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Stub(f"{self.__name__}.{name}")


class _StubFinder:
    """VDSM's packages (yajsonrpc, vdsm.*), imported by lib/util.py, unused by metadata.py."""

    import importlib.machinery as _machinery

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("vdsm", "yajsonrpc"):
            return self._machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        m = _Stub(spec.name)
        m.__path__ = []
        return m

    def exec_module(self, module):
        pass


sys.meta_path.insert(0, _StubFinder())

# env/constants.py as the build makes it from constants.py.in
import ovirt_hosted_engine_ha.env as env_pkg  # noqa: E402

with open(os.path.join(pkg_dir, "env", "constants.py.in")) as f:
    constants_src = re.sub(r"@[A-Z_]+@", "", f.read())
constants = types.ModuleType("ovirt_hosted_engine_ha.env.constants")
exec(compile(constants_src, "constants.py", "exec"), constants.__dict__)
sys.modules["ovirt_hosted_engine_ha.env.constants"] = constants
env_pkg.constants = constants

from ovirt_hosted_engine_ha.lib import metadata  # noqa: E402
from ovirt_hosted_engine_ha.lib.exceptions import MetadataError  # noqa: E402

log = logging.getLogger("original")
log.addHandler(logging.NullHandler())
log.propagate = False


def read_raw(path):
    """StorageBroker.get_raw_stats(): one direct read, decode, split into segments."""
    bs = constants.HOST_SEGMENT_BYTES
    read_size = bs * (constants.MAX_HOST_ID_SCAN + 1)
    with closing(mmap.mmap(-1, read_size, mmap.MAP_PRIVATE)) as buf:
        f = os.open(path, os.O_DIRECT | os.O_RDONLY | os.O_SYNC)
        fin = os.fdopen(f, "rb", 0)
        try:
            fin.readinto(buf)
            data = buf.read(read_size).decode()
        finally:
            fin.close()
    return dict(((i // bs, data[i:i + bs]) for i in range(0, len(data), bs) if data[i] != "\0"))


def parse(stats):
    """HAClient._parse_stats(): the global block and every host block."""
    out = {}
    for host_id, data in stats.items():
        try:
            if host_id == 0:
                out[0] = metadata.parse_global_metadata_to_dict(log, data)
            else:
                md = metadata.parse_metadata_to_dict(host_id, data)
                out[md["host-id"]] = md
        except MetadataError:
            continue
    return out


def main():
    path, n, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    hosts = 0
    for _ in range(warmup):
        parse(read_raw(path))
    wall, cpu = [], []
    for _ in range(n):
        c0, t0 = time.process_time(), time.perf_counter()
        out = parse(read_raw(path))
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        hosts = len(out) - (1 if 0 in out else 0)
    print(json.dumps({"wall": wall, "cpu": cpu, "hosts": hosts}))


main()
