/**
 * koffi binding to libsanlock.so.1 (sanlock 3.8 client library).
 *
 * Every call that talks to the daemon blocks on a unix socket, so callers use
 * `callAsync`, which runs the C function on one of koffi's worker threads. Return values
 * are negative errno values or sanlock's own negative codes (sanlock_rv.h).
 *
 * The library picks the daemon through the environment variable SANLOCK_RUN_DIR
 * (default /run/sanlock), read when each call connects: one process talks to one
 * daemon, which is one host.
 */
import koffi from "koffi";

export const SANLK_NAME_LEN = 48;
export const SANLK_PATH_LEN = 1024;

/** errno values sanlock returns (negated) */
export const Errno = {
  ENOENT: 2,
  EINTR: 4,
  ENODEV: 19,
  EAGAIN: 11,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  EPIPE: 32,
  ECONNREFUSED: 111,
  ECONNRESET: 104,
  ENOTCONN: 107,
  EINPROGRESS: 115,
} as const;

/** sanlock_rv.h codes (already negative) */
export const SanlockRv = {
  ERROR: -201,
  AIO_TIMEOUT: -202,
  LEADER_MAGIC: -223,
  LEADER_LOCKSPACE: -226,
  LEADER_RESOURCE: -227,
  ADDLS_INVALID_HOSTID: -231,
  ACQUIRE_LVER: -240,
  ACQUIRE_LOCKSPACE: -241,
  ACQUIRE_IDDISK: -242,
  ACQUIRE_IDLIVE: -243,
  ACQUIRE_OWNED: -244,
  ACQUIRE_OTHER: -245,
  ACQUIRE_SHRETRY: -246,
  ACQUIRE_OWNED_RETRY: -247,
  HOSTID_BUSY: -262,
} as const;

export const SANLK_RES_PERSISTENT = 0x8;
/**
 * Sector size and alignment of a lockspace or resource (sanlock.h): the same bits in
 * sanlk_lockspace.flags (SANLK_LSF_*) and sanlk_resource.flags (SANLK_RES_*). Both an
 * ALIGN and a SECTOR flag, or neither (then sanlock reads them from the leader).
 */
export const SANLK_ALIGN_FLAGS = { 1: 0x10, 2: 0x20, 4: 0x40, 8: 0x80 } as const;
export const SANLK_SECTOR512 = 0x100;
export const SANLK_SECTOR4K = 0x200;
export const SANLK_ACQUIRE_LVB = 0x1;
export const SANLK_ACQUIRE_ORPHAN_ONLY = 0x4;
export const SANLK_ACQUIRE_OWNER_NOWAIT = 0x8;
export const SANLK_REM_UNUSED = 0x2;
export const SANLK_CONFIG_USED_BY_ORPHANS = 0x4;

export interface DiskValue {
  path: string;
  offset: number;
  pad1: number;
  pad2: number;
}

export interface LockspaceValue {
  name: string;
  host_id: number;
  flags: number;
  host_id_disk: DiskValue;
}

export interface ResourceValue {
  lockspace_name: string;
  name: string;
  lver: number;
  data64: number;
  data32: number;
  unused: number;
  flags: number;
  num_disks: number;
  disks: DiskValue[];
}

export interface HostValue {
  host_id: number | bigint;
  generation: number | bigint;
  timestamp: number | bigint;
  io_timeout: number;
  flags: number;
}

type Callback = (err: unknown, result: unknown) => void;
interface NativeFn {
  (...args: unknown[]): unknown;
  async: (...args: unknown[]) => void;
}

export interface SanlockNative {
  addLockspaceTimeout: NativeFn;
  inqLockspace: NativeFn;
  remLockspace: NativeFn;
  setConfig: NativeFn;
  getHosts: NativeFn;
  register: NativeFn;
  killpath: NativeFn;
  acquire: NativeFn;
  release: NativeFn;
  inquire: NativeFn;
  readResourceOwners: NativeFn;
  strerror: (rv: number) => string;
  /** decodes `count` sanlk_host records at a malloc'd pointer, then frees it */
  takeHosts: (ptr: unknown, count: number) => HostValue[];
  closeFd: (fd: number) => void;
}

let loaded: SanlockNative | null = null;

/** Loads libsanlock once per process (throws a clear error when it is missing). */
export function sanlockNative(): SanlockNative {
  if (loaded) return loaded;
  let lib: ReturnType<typeof koffi.load>;
  let libc: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load("libsanlock.so.1");
    libc = koffi.load("libc.so.6");
  } catch (err) {
    throw new Error(
      `cannot load libsanlock.so.1 (install the Debian package libsanlock1): ${String(err)}`,
    );
  }
  const disk = koffi.struct("sanlk_disk", {
    path: koffi.array("char", SANLK_PATH_LEN),
    offset: "uint64_t",
    pad1: "uint32_t",
    pad2: "uint32_t",
  });
  koffi.struct("sanlk_lockspace", {
    name: koffi.array("char", SANLK_NAME_LEN),
    host_id: "uint64_t",
    flags: "uint32_t",
    host_id_disk: disk,
  });
  // sanlk_resource ends with a flexible disks[] array; we always send one disk.
  koffi.struct("sanlk_resource", {
    lockspace_name: koffi.array("char", SANLK_NAME_LEN),
    name: koffi.array("char", SANLK_NAME_LEN),
    lver: "uint64_t",
    data64: "uint64_t",
    data32: "uint32_t",
    unused: "uint32_t",
    flags: "uint32_t",
    num_disks: "uint32_t",
    disks: koffi.array(disk, 1),
  });
  const host = koffi.struct("sanlk_host", {
    host_id: "uint64_t",
    generation: "uint64_t",
    timestamp: "uint64_t",
    io_timeout: "uint32_t",
    flags: "uint32_t",
  });
  const free = libc.func("void free(void *ptr)") as unknown as NativeFn;
  // a malloc'd C string that koffi copies to JS and then frees
  koffi.disposable("sanlk_heap_str", "str");
  const close = libc.func("int close(int fd)") as unknown as NativeFn;
  const strerror = lib.func("const char *sanlock_strerror(int rv)") as unknown as NativeFn;
  loaded = {
    addLockspaceTimeout: lib.func(
      "int sanlock_add_lockspace_timeout(sanlk_lockspace *ls, uint32_t flags, uint32_t io_timeout)",
    ) as unknown as NativeFn,
    inqLockspace: lib.func(
      "int sanlock_inq_lockspace(sanlk_lockspace *ls, uint32_t flags)",
    ) as unknown as NativeFn,
    remLockspace: lib.func(
      "int sanlock_rem_lockspace(sanlk_lockspace *ls, uint32_t flags)",
    ) as unknown as NativeFn,
    setConfig: lib.func(
      "int sanlock_set_config(const char *ls_name, uint32_t flags, uint32_t cmd, void *data)",
    ) as unknown as NativeFn,
    getHosts: lib.func(
      "int sanlock_get_hosts(const char *ls_name, uint64_t host_id, _Out_ void **hss, _Out_ int *hss_count, uint32_t flags)",
    ) as unknown as NativeFn,
    register: lib.func("int sanlock_register(void)") as unknown as NativeFn,
    killpath: lib.func(
      "int sanlock_killpath(int sock, uint32_t flags, const char *path, char *args)",
    ) as unknown as NativeFn,
    acquire: lib.func(
      "int sanlock_acquire(int sock, int pid, uint32_t flags, int res_count, sanlk_resource **res_args, void *opt_in)",
    ) as unknown as NativeFn,
    release: lib.func(
      "int sanlock_release(int sock, int pid, uint32_t flags, int res_count, sanlk_resource **res_args)",
    ) as unknown as NativeFn,
    inquire: lib.func(
      "int sanlock_inquire(int sock, int pid, uint32_t flags, _Out_ int *res_count, _Out_ sanlk_heap_str *res_state)",
    ) as unknown as NativeFn,
    readResourceOwners: lib.func(
      "int sanlock_read_resource_owners(sanlk_resource *res, uint32_t flags, _Out_ void **hss, _Out_ int *hss_count)",
    ) as unknown as NativeFn,
    strerror: (rv: number) => String(strerror(rv)),
    takeHosts: (ptr: unknown, count: number): HostValue[] => {
      if (ptr === null || ptr === undefined) return [];
      try {
        return count > 0 ? (koffi.decode(ptr, host, count) as HostValue[]) : [];
      } finally {
        free(ptr);
      }
    },
    closeFd: (fd: number) => {
      close(fd);
    },
  };
  return loaded;
}

/** Runs a libsanlock function on a koffi worker thread. */
export function callAsync<T = number>(fn: NativeFn, ...args: unknown[]): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cb: Callback = (err, result) => (err ? reject(err) : resolve(result as T));
    fn.async(...args, cb);
  });
}

export function lockspaceValue(
  name: string,
  hostId: number,
  path: string,
  offset: number,
  flags = 0,
) {
  return {
    name,
    host_id: hostId,
    flags,
    host_id_disk: { path, offset, pad1: 0, pad2: 0 },
  } satisfies LockspaceValue;
}

export function resourceValue(
  lockspace: string,
  name: string,
  path: string,
  offset: number,
  flags: number,
): ResourceValue {
  return {
    lockspace_name: lockspace,
    name,
    lver: 0,
    data64: 0,
    data32: 0,
    unused: 0,
    flags,
    num_disks: 1,
    disks: [{ path, offset, pad1: 0, pad2: 0 }],
  };
}

/** Human text for a sanlock return code: errno text or sanlock's own description. */
export function describeRv(rv: number): string {
  const errnoNames: Record<number, string> = {
    [-Errno.ENOENT]: "ENOENT (no such lockspace, resource or daemon socket)",
    [-Errno.EINTR]: "EINTR (interrupted)",
    [-Errno.ENODEV]: "ENODEV (lease volume missing or unreadable)",
    [-Errno.EAGAIN]: "EAGAIN (busy, try again)",
    [-Errno.EBUSY]: "EBUSY (in use)",
    [-Errno.EEXIST]: "EEXIST (already exists)",
    [-Errno.EINVAL]: "EINVAL (invalid argument)",
    [-Errno.ECONNREFUSED]: "ECONNREFUSED (sanlock daemon not running)",
    [-Errno.EINPROGRESS]: "EINPROGRESS (operation in progress)",
  };
  const known = errnoNames[rv];
  if (known) return `${rv} ${known}`;
  if (rv <= -200) {
    try {
      return `${rv} ${sanlockNative().strerror(rv)}`;
    } catch {
      return String(rv);
    }
  }
  return `${rv}`;
}
