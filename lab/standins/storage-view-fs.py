#!/usr/bin/python3
"""
storage-view-fs: a FUSE passthrough view of one shared storage domain directory for ONE
lab host, with a switch that makes this host lose write (or all) access to the
storage while every other host keeps it.

  /usr/bin/python3 storage-view-fs.py --source DIR --mountpoint DIR --control NAME

Runs in the foreground (multithreaded, libfuse 2 through python3-fuse) until SIGTERM
(libfuse then unmounts lazily and exits). Every open is served with direct_io, so the
page cache of this view never hides what other hosts wrote, and O_DIRECT opens (sanlock,
the broker) work; the underlying file is opened without O_DIRECT (our buffers are not
aligned) on the same machine, so all hosts share one page cache of the real file.

Control: a unix stream socket at path NAME (created at mount, removed at exit). One
command per line, one answer line each:
  status                 -> "ok <mode> <errno>"
  cut-writes [EIO|EROFS] -> every write, open for writing, truncate, fsync and namespace
                            change fails with that errno (default EIO); reads still work
  cut-all                -> everything fails with EIO (except getattr of the root)
  restore                -> back to normal passthrough (and no read delay)
  slow-reads SECONDS     -> every read at offset 0 of a file (the start of a whole-file
                            read, such as the broker's whiteboard read) waits SECONDS
                            first: slow storage, one delay per whole read (0: off)
The socket accepts connections only once the filesystem is mounted (FUSE init done).
"""

import argparse
import ctypes
import errno
import os
import signal
import socket
import stat
import sys
import threading
import time

import fuse

fuse.fuse_python_api = (0, 2)

PR_SET_PDEATHSIG = 1
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
STAT_FIELDS = (
    "st_mode", "st_ino", "st_dev", "st_nlink", "st_uid", "st_gid", "st_size",
    "st_atime", "st_mtime", "st_ctime",
)
CUT_ERRNOS = {"EIO": errno.EIO, "EROFS": errno.EROFS}


def log(msg):
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ" % (now % 1 * 1000)
    sys.stdout.write("%s storage-view[%d] %s\n" % (stamp, os.getpid(), msg))
    sys.stdout.flush()


class Switch:
    """The access mode of this view: ok, writes-cut or all-cut, and the errno used."""

    def __init__(self):
        self.mode = "ok"
        self.err = errno.EIO
        self.read_delay = 0.0
        self.refused = {}
        self.lock = threading.Lock()

    def set(self, mode, err):
        with self.lock:
            counts = self.refused
            self.refused = {}
            self.mode = mode
            self.err = err
        if counts:
            log("refused while cut: " + ", ".join("%s=%d" % kv for kv in sorted(counts.items())))
        log("mode %s (%s)" % (mode, errno.errorcode[err]))

    def refuse(self, op, path):
        with self.lock:
            n = self.refused.get(op, 0)
            self.refused[op] = n + 1
        if n == 0:
            log("refusing %s %s: %s" % (op, path, errno.errorcode[self.err]))
        raise OSError(self.err, os.strerror(self.err))

    def check_write(self, op, path):
        if self.mode != "ok":
            self.refuse(op, path)

    def check_read(self, op, path):
        if self.mode == "all-cut":
            self.refuse(op, path)


class StorageView(fuse.Fuse):
    def __init__(self, source, mountpoint, control, *args, **kw):
        fuse.Fuse.__init__(self, *args, **kw)
        self.source = source
        self.mountpoint = mountpoint
        self.control = control
        self.switch = Switch()
        self.file_class = self.make_file_class()

    def real(self, path):
        return self.source + path

    # -- link targets: absolute links into the source are shown inside the view -----------

    def to_view(self, target):
        if target == self.source or target.startswith(self.source + "/"):
            return self.mountpoint + target[len(self.source):]
        return target

    def to_source(self, target):
        if target == self.mountpoint or target.startswith(self.mountpoint + "/"):
            return self.source + target[len(self.mountpoint):]
        return target

    # -- metadata and namespace ------------------------------------------------------------

    def getattr(self, path):
        if path != "/":
            self.switch.check_read("getattr", path)
        st = os.lstat(self.real(path))
        if not stat.S_ISLNK(st.st_mode):
            return st
        # an absolute link into the source is shown with a target inside the view
        shown = fuse.Stat(**{k: getattr(st, k) for k in STAT_FIELDS})
        shown.st_size = len(os.fsencode(self.readlink(path)))
        return shown

    def access(self, path, mode):
        self.switch.check_read("access", path)
        if mode & os.W_OK:
            self.switch.check_write("access", path)
        if not os.access(self.real(path), mode):
            return -errno.EACCES
        return 0

    def readlink(self, path):
        self.switch.check_read("readlink", path)
        return self.to_view(os.readlink(self.real(path)))

    def readdir(self, path, offset):
        # a list, not a generator: python-fuse turns OSError into -errno only when it is
        # raised by the call itself
        self.switch.check_read("readdir", path)
        real = self.real(path)
        entries = []
        for name in [".", ".."] + os.listdir(real):
            try:
                ino = os.lstat(os.path.join(real, name)).st_ino
            except OSError:
                continue
            entries.append(fuse.Direntry(name, ino=ino))
        return entries

    def statfs(self):
        self.switch.check_read("statfs", "/")
        return os.statvfs(self.source)

    def symlink(self, target, path):
        self.switch.check_write("symlink", path)
        os.symlink(self.to_source(target), self.real(path))

    def mknod(self, path, mode, dev):
        self.switch.check_write("mknod", path)
        os.mknod(self.real(path), mode, dev)

    def mkdir(self, path, mode):
        self.switch.check_write("mkdir", path)
        os.mkdir(self.real(path), mode)

    def unlink(self, path):
        self.switch.check_write("unlink", path)
        os.unlink(self.real(path))

    def rmdir(self, path):
        self.switch.check_write("rmdir", path)
        os.rmdir(self.real(path))

    def rename(self, old, new):
        self.switch.check_write("rename", old)
        os.rename(self.real(old), self.real(new))

    def link(self, target, path):
        self.switch.check_write("link", path)
        os.link(self.real(target), self.real(path))

    def chmod(self, path, mode):
        self.switch.check_write("chmod", path)
        os.chmod(self.real(path), mode)

    def chown(self, path, uid, gid):
        self.switch.check_write("chown", path)
        os.lchown(self.real(path), uid, gid)

    def truncate(self, path, size):
        self.switch.check_write("truncate", path)
        os.truncate(self.real(path), size)

    def utimens(self, path, ts_acc, ts_mod):
        self.switch.check_write("utimens", path)
        ns = (ts_acc.tv_sec * 10**9 + ts_acc.tv_nsec, ts_mod.tv_sec * 10**9 + ts_mod.tv_nsec)
        os.utime(self.real(path), ns=ns, follow_symlinks=False)

    # -- open files --------------------------------------------------------------------------

    def make_file_class(self):
        view = self

        class ViewFile:
            direct_io = True
            keep_cache = False

            def __init__(self, path, flags, *mode):
                view.switch.check_read("open", path)
                if flags & WRITE_FLAGS:
                    view.switch.check_write("open", path)
                self.path = path
                # unaligned buffers: the real file is opened without O_DIRECT; this view
                # itself is uncached (direct_io), so readers always see the shared file
                self.fd = os.open(view.real(path), flags & ~os.O_DIRECT, *mode)

            def read(self, length, offset):
                view.switch.check_read("read", self.path)
                if offset == 0 and view.switch.read_delay > 0:
                    time.sleep(view.switch.read_delay)
                return os.pread(self.fd, length, offset)

            def write(self, buf, offset):
                view.switch.check_write("write", self.path)
                return os.pwrite(self.fd, buf, offset)

            def fsync(self, datasync):
                view.switch.check_write("fsync", self.path)
                if datasync:
                    os.fdatasync(self.fd)
                else:
                    os.fsync(self.fd)

            def flush(self):
                return 0

            def release(self, flags):
                os.close(self.fd)

            def fgetattr(self):
                view.switch.check_read("fgetattr", self.path)
                return os.fstat(self.fd)

            def ftruncate(self, size):
                view.switch.check_write("ftruncate", self.path)
                os.ftruncate(self.fd, size)

        return ViewFile

    # -- lifecycle ---------------------------------------------------------------------------

    def fsinit(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(self.control):
            os.unlink(self.control)
        sock.bind(self.control)
        sock.listen(8)
        threading.Thread(target=self.serve_control, args=(sock,), daemon=True).start()
        log("mounted %s on %s" % (self.source, self.mountpoint))

    def fsdestroy(self):
        if os.path.exists(self.control):
            os.unlink(self.control)
        log("unmounted %s" % self.mountpoint)

    def serve_control(self, sock):
        while True:
            conn, _ = sock.accept()
            threading.Thread(target=self.handle_control, args=(conn,), daemon=True).start()

    def handle_control(self, conn):
        with conn, conn.makefile("rw", encoding="ascii", newline="\n") as f:
            for line in f:
                f.write(self.command(line.split()) + "\n")
                f.flush()

    def command(self, words):
        if not words:
            return "error empty command"
        cmd, args = words[0], words[1:]
        if cmd == "cut-writes":
            name = args[0] if args else "EIO"
            if name not in CUT_ERRNOS:
                return "error errno must be one of " + " ".join(sorted(CUT_ERRNOS))
            self.switch.set("writes-cut", CUT_ERRNOS[name])
        elif cmd == "cut-all":
            self.switch.set("all-cut", errno.EIO)
        elif cmd == "restore":
            self.switch.set("ok", errno.EIO)
            self.switch.read_delay = 0.0
        elif cmd == "slow-reads":
            try:
                delay = float(args[0])
            except (IndexError, ValueError):
                return "error slow-reads needs SECONDS"
            if delay < 0:
                return "error slow-reads needs SECONDS >= 0"
            self.switch.read_delay = delay
            log("reads at offset 0 wait %.3f s" % delay)
        elif cmd != "status":
            return "error unknown command " + cmd
        return "ok %s %s" % (self.switch.mode, errno.errorcode[self.switch.err])


def main():
    parser = argparse.ArgumentParser(description="FUSE passthrough view of a storage domain")
    parser.add_argument("--source", required=True)
    parser.add_argument("--mountpoint", required=True)
    parser.add_argument("--control", required=True, help="control unix socket path")
    opts = parser.parse_args()

    # end (and so unmount) with our parent, even when it is killed
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    source = os.path.realpath(opts.source)
    mountpoint = os.path.realpath(opts.mountpoint)
    if not os.path.isdir(source):
        sys.exit("storage-view: source %s is not a directory" % source)
    fuse_opts = ",".join(
        [
            "fsname=storage-view:" + source.replace(",", "_"),
            "subtype=storage-view",
            "direct_io",
            "use_ino",
            "attr_timeout=0",
            "entry_timeout=0",
            "negative_timeout=0",
            "allow_other",
        ]
    )
    server = StorageView(
        source, mountpoint, opts.control, usage="storage-view-fs", dash_s_do="setsingle"
    )
    server.parse(args=[mountpoint, "-f", "-o", fuse_opts], errex=1)
    log("starting: %s -> %s" % (source, mountpoint))
    server.main()
    log("exited")


if __name__ == "__main__":
    main()
