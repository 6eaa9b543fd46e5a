#!/usr/bin/python3
"""Lays out a hosted-engine file storage domain step by step the way VDSM and the
hosted-engine deployment lay one out, with python3-sanlock and the standard library
only: none of this project's code runs. Tests use the result to show that our agent
works on a domain it did not make.

usage: SANLOCK_RUN_DIR=<daemon run dir> make_vdsm_domain.py SPEC.json
(python3-sanlock's write_lockspace/write_resource go through a sanlock daemon)

SPEC (JSON object):
  domain        directory to create (VDSM: <mount>/<sdUUID>); must not exist
  sdUUID        the storage domain UUID
  vmConf        vm.conf text (stored in the configuration archive)
  ovf           engine VM OVF text or null (an OVF_STORE volume holding <vmId>.ovf)
  hostConf      [[key, value], ...] hosted-engine.conf keys for the archive's copy
  ioTimeout     sanlock io timeout for both lockspaces (default 10)
  engineDisk    {"imageUUID", "volumeUUID"} or null: default the vm.conf device
                with type:disk and device:disk (shared:exclusive first)
  engineDiskSize  bytes (default 1 MiB)
  heLockspaceSize bytes (default 1 GiB, as the deployment's he_sanlock disk)
  vmLeases      [vm uuid, ...]: VM leases added to dom_md/xleases as VDSM adds them
  version       the archive's `version` member (default "2.5.3")

Prints JSON: {sdUUID, domain, volumes: {name: {imageUUID, volumeUUID, path}},
xleases: [{resource, offset}], confLines: [[key, value], ...]} where confLines are the
hosted-engine.conf keys the agent needs to find these volumes.

Steps, after VDSM (fileSD._prepareMetadata, clusterlock.SANLock.initLock,
xlease.format_index / LeasesVolume.add, fileVolume with .meta and .lease) and the
deployment (he_virtio_disk, he_sanlock, he_metadata, HostedEngineConfigurationImage,
OVF_STORE disks; heconflib's 20480-byte configuration archive).
"""
import hashlib
import io
import json
import os
import re
import sys
import tarfile
import time
import uuid

import sanlock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xleases_index  # noqa: E402

MiB = 1024 * 1024
GiB = 1024 * MiB
ALIGN = MiB
SECTOR = 512
FILE_MODE = 0o660
BLANK = "00000000-0000-0000-0000-000000000000"
SDM_SLOT = 1
ARCHIVE_SIZE = 20480


def create_file(path, size):
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    try:
        os.ftruncate(fd, size)
    finally:
        os.close(fd)
    os.chmod(path, FILE_MODE)


def write_at(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


# --- dom_md -----------------------------------------------------------------

def domain_type(host_conf):
    t = host_conf.get("domainType", "posixfs").lower()
    return {"nfs": "NFS", "nfs3": "NFS", "nfs4": "NFS", "glusterfs": "GLUSTERFS",
            "posixfs": "POSIXFS"}[t]


def write_domain_metadata(path, md):
    lines = ["%s=%s" % (k, md[k]) for k in sorted(md)]
    h = hashlib.sha1()
    for line in lines:
        h.update(line.encode("ascii", "xmlcharrefreplace"))
    lines.append("_SHA_CKSUM=%s" % h.hexdigest())
    tmp = path + ".new"
    with open(tmp, "wb") as f:
        f.writelines(line.encode("utf-8") + b"\n" for line in lines)
    os.chmod(tmp, FILE_MODE)
    os.rename(tmp, path)


def format_xleases(path, sd):
    # format_index: metadata marked updating, empty records, then the flag cleared
    now = int(time.time())
    data = xleases_index.meta_bytes(sd, now, updating=True) + \
        xleases_index.record_bytes("", 0) * xleases_index.MAX_RECORDS
    write_at(path, ALIGN, data)
    write_at(path, ALIGN, xleases_index.meta_bytes(sd, now))


def add_vm_lease(path, sd, lease_id):
    with open(path, "rb") as f:
        f.seek(ALIGN)
        index = f.read(xleases_index.INDEX_SIZE)
    empty = xleases_index.record_bytes("", 0)
    base = xleases_index.METADATA_SIZE
    for recnum in range(xleases_index.MAX_RECORDS):
        start = base + recnum * xleases_index.RECORD_SIZE
        if index[start:start + xleases_index.RECORD_SIZE] == empty:
            break
    else:
        raise SystemExit("xleases index full")
    offset = xleases_index.lease_offset(recnum, ALIGN)
    sanlock.write_resource(sd.encode(), lease_id.encode(), [(path, offset)],
                           align=ALIGN, sector=SECTOR)
    xleases_index.write_record(path, recnum, lease_id, alignment=ALIGN)
    return {"resource": lease_id, "offset": offset}


def prepare_dom_md(domain, sd, host_conf, io_timeout):
    md_dir = os.path.join(domain, "dom_md")
    os.makedirs(md_dir)
    os.chmod(md_dir, 0o775)
    # file domains: ids, leases, xleases start empty; sanlock grows them
    for name, size in (("ids", 0), ("leases", 0), ("xleases", 0),
                       ("inbox", 16 * MiB), ("outbox", 16 * MiB)):
        create_file(os.path.join(md_dir, name), size)
    format_xleases(os.path.join(md_dir, "xleases"), sd)
    write_domain_metadata(os.path.join(md_dir, "metadata"), {
        "VERSION": 5, "SDUUID": sd, "TYPE": domain_type(host_conf), "CLASS": "Data",
        "DESCRIPTION": "hosted_storage", "ROLE": "Regular", "POOL_UUID": "",
        "LOCKPOLICY": "", "LOCKRENEWALINTERVALSEC": 5, "LEASETIMESEC": 60,
        "IOOPTIMEOUTSEC": 10, "LEASERETRIES": 3,
        "REMOTE_PATH": host_conf.get("storage", ""),
        "ALIGNMENT": ALIGN, "BLOCK_SIZE": SECTOR,
    })
    # initLock: the domain lockspace on ids, the SDM lease on leases at slot 1
    sanlock.write_lockspace(sd.encode(), os.path.join(md_dir, "ids"),
                            iotimeout=io_timeout, align=ALIGN, sector=SECTOR)
    sanlock.write_resource(sd.encode(), b"SDM",
                           [(os.path.join(md_dir, "leases"), SDM_SLOT * ALIGN)],
                           align=ALIGN, sector=SECTOR)
    return md_dir


# --- volumes ----------------------------------------------------------------

def create_volume(domain, sd, image, volume, size, description, disktype):
    img_dir = os.path.join(domain, "images", image)
    os.makedirs(img_dir, exist_ok=True)
    path = os.path.join(img_dir, volume)
    create_file(path, size)
    meta = {
        "CAP": size, "CTIME": int(time.time()), "DESCRIPTION": description,
        "DISKTYPE": disktype, "DOMAIN": sd, "FORMAT": "RAW", "GEN": 0, "IMAGE": image,
        "LEGALITY": "LEGAL", "PUUID": BLANK, "SEQ": 0, "TYPE": "SPARSE", "VOLTYPE": "LEAF",
    }
    with open(path + ".meta", "w") as f:
        for k in sorted(meta):
            f.write("%s=%s\n" % (k, meta[k]))
        f.write("EOF\n")
    os.chmod(path + ".meta", FILE_MODE)
    # newVolumeLease: an empty .lease, then the resource <volume> at offset 0
    create_file(path + ".lease", 0)
    sanlock.write_resource(sd.encode(), volume.encode(), [(path + ".lease", 0)],
                           align=ALIGN, sector=SECTOR)
    return {"imageUUID": image, "volumeUUID": volume, "path": path}


def engine_description(alias, text):
    return json.dumps({"DiskAlias": alias, "DiskDescription": text}, separators=(",", ":"))


def engine_disk_from_vmconf(vm_conf):
    disks = []
    for line in vm_conf.splitlines():
        if not line.startswith("devices="):
            continue
        dev = line[len("devices="):]
        if "type:disk" not in dev or "device:disk" not in dev:
            continue
        ids = dict(re.findall(r"(imageID|volumeID|shared):([^,}]*)", dev))
        if ids.get("imageID") and ids.get("volumeID"):
            disks.append(ids)
    if not disks:
        raise SystemExit("vm.conf has no disk device with imageID and volumeID")
    disk = next((d for d in disks if d.get("shared") == "exclusive"), disks[0])
    return {"imageUUID": disk["imageID"], "volumeUUID": disk["volumeID"]}


def vm_id_of(vm_conf):
    m = re.search(r"^vmId=(.+)$", vm_conf, re.M)
    if not m:
        raise SystemExit("vm.conf has no vmId")
    return m.group(1).strip()


def tar_member(tar, name, text):
    data = text.encode("utf-8")
    info = tarfile.TarInfo(name=name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def conf_archive(members):
    # heconflib: an empty 20480-byte archive, then the members appended with tarfile
    buf = io.BytesIO(b"\0" * ARCHIVE_SIZE)
    with tarfile.open(fileobj=buf, mode="a", format=tarfile.USTAR_FORMAT) as tar:
        for name, text in members:
            tar_member(tar, name, text)
    data = buf.getvalue()
    if len(data) != ARCHIVE_SIZE:
        raise SystemExit("archive is %d bytes, expected %d" % (len(data), ARCHIVE_SIZE))
    return data


def ovf_store_tar(vm_id, ovf):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        tar_member(tar, "%s.ovf" % vm_id, ovf)
    return buf.getvalue()


def main(spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    domain = spec["domain"]
    sd = spec["sdUUID"]
    io_timeout = spec.get("ioTimeout", 10)
    vm_conf = spec["vmConf"]
    vm_id = vm_id_of(vm_conf)
    host_pairs = spec.get("hostConf", [])
    host_conf = dict(host_pairs)
    if os.path.exists(domain):
        raise SystemExit("%s exists" % domain)

    md_dir = prepare_dom_md(domain, sd, host_conf, io_timeout)
    xleases = [add_vm_lease(os.path.join(md_dir, "xleases"), sd, vm)
               for vm in spec.get("vmLeases", [])]

    new = lambda: str(uuid.uuid4())  # noqa: E731
    disk = spec.get("engineDisk") or engine_disk_from_vmconf(vm_conf)
    volumes = {
        "engineDisk": create_volume(
            domain, sd, disk["imageUUID"], disk["volumeUUID"],
            spec.get("engineDiskSize", MiB),
            engine_description("he_virtio_disk", "Hosted-Engine disk"), "DATA"),
        "lockspace": create_volume(
            domain, sd, new(), new(), spec.get("heLockspaceSize", GiB),
            engine_description("he_sanlock", "Hosted-Engine sanlock disk"), "HESD"),
        "metadata": create_volume(
            domain, sd, new(), new(), 128 * MiB,
            engine_description("he_metadata", "Hosted-Engine metadata disk"), "HEMD"),
        "conf": create_volume(
            domain, sd, new(), new(), GiB,
            engine_description("HostedEngineConfigurationImage",
                               "Hosted-Engine configuration disk"), "HECI"),
    }
    # the HA lockspace: `hosted-engine` at offset 0 of he_sanlock; the whiteboard stays zeros
    sanlock.write_lockspace(b"hosted-engine", volumes["lockspace"]["path"],
                            iotimeout=io_timeout, align=ALIGN, sector=SECTOR)

    conf_lines = [
        ["sdUUID", sd], ["spUUID", BLANK], ["vmid", vm_id], ["domain_path", domain],
        ["metadata_image_UUID", volumes["metadata"]["imageUUID"]],
        ["metadata_volume_UUID", volumes["metadata"]["volumeUUID"]],
        ["lockspace_image_UUID", volumes["lockspace"]["imageUUID"]],
        ["lockspace_volume_UUID", volumes["lockspace"]["volumeUUID"]],
        ["conf_image_UUID", volumes["conf"]["imageUUID"]],
        ["conf_volume_UUID", volumes["conf"]["volumeUUID"]],
        ["sanlock_io_timeout", str(io_timeout)],
    ]
    set_keys = {k for k, _ in conf_lines}
    he_conf = "".join("%s=%s\n" % (k, v) for k, v in host_pairs if k not in set_keys)
    he_conf += "".join("%s=%s\n" % (k, v) for k, v in conf_lines)
    archive = conf_archive([
        ("version", spec.get("version", "2.5.3")),
        ("fhanswers.conf", "[environment:default]\n"),
        ("hosted-engine.conf", he_conf),
        ("broker.conf", "[email]\nsmtp-server = localhost\nsmtp-port = 25\n"
                        "source-email = root@localhost\ndestination-emails = root@localhost\n"
                        "\n[notify]\nstate_transition = maintenance|start|stop|migrate|up|down\n"),
        ("vm.conf", vm_conf),
    ])
    write_at(volumes["conf"]["path"], 0, archive)

    if spec.get("ovf"):
        tar = ovf_store_tar(vm_id, spec["ovf"])
        description = json.dumps({
            "Updated": True, "Size": len(tar),
            "Last Updated": time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime()),
            "Storage Domains": [{"uuid": sd}], "Disk Description": "OVF_STORE",
        })
        volumes["ovfStore"] = create_volume(domain, sd, new(), new(), 128 * MiB,
                                            description, "OVFS")
        write_at(volumes["ovfStore"]["path"], 0, tar)

    print(json.dumps({"sdUUID": sd, "domain": domain, "volumes": volumes,
                      "xleases": xleases, "confLines": conf_lines}))


if __name__ == "__main__":
    main(sys.argv[1])
