/**
 * The few libvirt calls HypervisorConnection makes, through koffi on libvirt.so.0.
 *
 * Why not @unraid/libvirt here: its connectOpen calls `virConnectOpen`, which passes no
 * authentication callbacks, and libvirt's client then cannot answer a SASL exchange
 * ("No worthy mechs found") even when the URI names an authfile. oVirt hosts run
 * libvirtd with `auth_unix_rw = "sasl"`, so we open with `virConnectOpenAuth` and an
 * auth structure naming the credential types SASL asks for: libvirt fills them from the
 * URI's `authfile`; a credential the authfile lacks reaches our callback, which refuses
 * (libvirt's own default callback would prompt on the terminal, blocking a daemon).
 *
 * Every call that talks to libvirtd runs on one of koffi's worker threads (`.async`).
 * libvirt keeps the last error per thread and per connection: after a failed call on a
 * connection we read the connection's copy (`virConnCopyLastError`) on the main thread;
 * a failed open has no connection, so its error comes through a process-wide error
 * handler (libvirt calls it on the worker thread, koffi runs it on the main thread).
 */
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import koffi from "koffi";

/** libvirt's `virDomainInfo` (declared by name for virDomainGetInfo below) */
koffi.struct("he_virDomainInfo", {
  state: "uint8_t",
  maxMem: "unsigned long",
  memory: "unsigned long",
  nrVirtCpu: "uint16_t",
  cpuTime: "uint64_t",
});

/** the leading members of libvirt's `virError` (the struct is larger: never allocated by value here) */
const VirErrorHead = koffi.struct("he_virErrorHead", {
  code: "int",
  domain: "int",
  message: "char *",
  level: "int",
  conn: "void *",
});
/** sizeof(virError) on LP64 is 80 bytes; a buffer of 128 is safe for virConnCopyLastError */
const VIR_ERROR_BUFFER = 128;

const ErrorFunc = koffi.proto("void he_virErrorFunc(void *userData, void *err)");
const AuthCallback = koffi.proto(
  "int he_virConnectAuthCallback(void *cred, unsigned int ncred, void *cbdata)",
);
const ConnectAuth = koffi.struct("he_virConnectAuth", {
  credtype: "void *",
  ncredtype: "unsigned int",
  cb: "void *",
  cbdata: "void *",
});
/**
 * VIR_CRED_AUTHNAME, ECHOPROMPT, REALM, PASSPHRASE, NOECHOPROMPT: what libvirt's own
 * default offers for SASL, less EXTERNAL
 */
const CRED_TYPES = [2, 6, 8, 5, 7];

type Ptr = unknown;
type Fn = ReturnType<ReturnType<typeof koffi.load>["func"]>;
interface Api {
  openAuth: Fn;
  close: Fn;
  hostname: Fn;
  lookupByUuid: Fn;
  lookupByName: Fn;
  createXml: Fn;
  getInfo: Fn;
  shutdown: Fn;
  destroy: Fn;
  undefine: Fn;
  free: Fn;
  copyLastError: Fn;
  resetError: Fn;
  setErrorFunc: Fn;
  cFree: Fn;
  /** our virConnectAuth (native memory, lives as long as the process) */
  auth: Ptr;
}

let api: Api | null = null;
/** the errors libvirt reported while opens were under way (see connectOpen) */
let openErrors: string[] = [];
let opensInFlight = 0;
/** our auth callback ran during the opens under way: libvirt wanted credentials the authfile lacks */
let credentialsMissing = false;
let handler: unknown = null;

function load(): Api {
  if (api) return api;
  const lib = koffi.load("libvirt.so.0");
  const libc = koffi.load("libc.so.6");
  api = {
    openAuth: lib.func(
      "void *virConnectOpenAuth(const char *name, void *auth, unsigned int flags)",
    ),
    close: lib.func("int virConnectClose(void *conn)"),
    hostname: lib.func("void *virConnectGetHostname(void *conn)"),
    lookupByUuid: lib.func("void *virDomainLookupByUUIDString(void *conn, const char *uuid)"),
    lookupByName: lib.func("void *virDomainLookupByName(void *conn, const char *name)"),
    createXml: lib.func(
      "void *virDomainCreateXML(void *conn, const char *xml, unsigned int flags)",
    ),
    getInfo: lib.func("int virDomainGetInfo(void *dom, _Out_ he_virDomainInfo *info)"),
    shutdown: lib.func("int virDomainShutdown(void *dom)"),
    destroy: lib.func("int virDomainDestroy(void *dom)"),
    undefine: lib.func("int virDomainUndefine(void *dom)"),
    free: lib.func("int virDomainFree(void *dom)"),
    copyLastError: lib.func("int virConnCopyLastError(void *conn, void *to)"),
    resetError: lib.func("void virResetError(void *err)"),
    setErrorFunc: lib.func("void virSetErrorFunc(void *userData, he_virErrorFunc *handler)"),
    cFree: libc.func("void free(void *ptr)"),
    auth: makeAuth(),
  };
  return api;
}

/** virConnectAuth with CRED_TYPES and a callback refusing whatever the authfile lacks */
function makeAuth(): Ptr {
  const types = koffi.alloc("int", CRED_TYPES.length);
  koffi.encode(types, "int", CRED_TYPES, CRED_TYPES.length);
  const cb = koffi.register(() => {
    credentialsMissing = true;
    return -1;
  }, koffi.pointer(AuthCallback));
  const auth = koffi.alloc(ConnectAuth, 1);
  koffi.encode(auth, ConnectAuth, {
    credtype: types,
    ncredtype: CRED_TYPES.length,
    cb,
    cbdata: null,
  });
  return auth;
}

/** libvirt's error handler for this process: keeps errors raised without a connection */
function installErrorHandler(a: Api): void {
  if (handler === null) {
    handler = koffi.register((_user: unknown, err: unknown) => {
      if (err === null) return;
      const head = koffi.decode(err, VirErrorHead) as { message: string | null };
      if (opensInFlight > 0 && head.message) openErrors.push(head.message);
    }, koffi.pointer(ErrorFunc));
  }
  // set before every open: another binding in the process may have replaced it
  a.setErrorFunc(null, handler);
}

function callAsync<T>(fn: Fn, ...args: unknown[]): Promise<T> {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err: unknown, res: T) => (err ? reject(err) : resolve(res)));
  });
}

/**
 * libvirt fails an open without a reason when the URI's authfile cannot be read (and only
 * reads it when libvirtd asks for SASL): say so.
 */
async function unreadableAuthfile(uri: string): Promise<string | undefined> {
  const m = /[?&]authfile=([^&]*)/.exec(uri);
  if (!m?.[1]) return undefined;
  const file = decodeURIComponent(m[1]);
  return access(file, constants.R_OK).then(
    () => undefined,
    (err: Error) =>
      `authentication failed: libvirtd asks for credentials (SASL) and the authfile ${file} cannot be read (${err.message})`,
  );
}

export class LibvirtError extends Error {
  override name = "LibvirtError";
}

/** A libvirt domain handle (freed by the calls that end with it). */
export class NativeDomain {
  constructor(
    private readonly conn: NativeLibvirt,
    readonly ptr: Ptr,
  ) {}

  async getInfo(): Promise<{ state: number; memory: number; cpuTime: number }> {
    const info: Record<string, unknown> = {};
    const rc = await callAsync<number>(load().getInfo, this.ptr, info);
    if (rc < 0) throw this.conn.lastError("virDomainGetInfo");
    return {
      state: Number(info.state),
      memory: Number(info.memory),
      cpuTime: Number(info.cpuTime),
    };
  }

  shutdown(): Promise<void> {
    return this.simple(load().shutdown, "virDomainShutdown");
  }

  destroy(): Promise<void> {
    return this.simple(load().destroy, "virDomainDestroy");
  }

  undefine(): Promise<void> {
    return this.simple(load().undefine, "virDomainUndefine");
  }

  /** releases the handle (not the domain) */
  free(): void {
    load().free(this.ptr);
  }

  private async simple(fn: Fn, name: string): Promise<void> {
    const rc = await callAsync<number>(fn, this.ptr);
    if (rc < 0) throw this.conn.lastError(name);
  }
}

/** One libvirt connection opened with `virConnectOpenAuth` (authfile honoured). */
export class NativeLibvirt {
  private conn: Ptr = null;

  constructor(readonly uri: string) {}

  async connectOpen(): Promise<void> {
    const a = load();
    installErrorHandler(a);
    if (opensInFlight === 0) {
      openErrors = [];
      credentialsMissing = false;
    }
    opensInFlight++;
    let conn: Ptr;
    try {
      conn = await callAsync<Ptr>(a.openAuth, this.uri, a.auth, 0);
    } finally {
      opensInFlight--;
    }
    if (conn === null) {
      // the first specific reason ("authentication failed: …", "Failed to connect socket …");
      // libvirt ends a failed SASL open with a generic "cause is unknown"
      const why =
        openErrors.find((m) => !/cause is unknown/.test(m)) ??
        (credentialsMissing
          ? "authentication failed: libvirtd asks for credentials (SASL) that the URI's authfile does not give"
          : ((await unreadableAuthfile(this.uri)) ?? openErrors[0]));
      throw new LibvirtError(why ?? `cannot open ${this.uri} (libvirt gave no reason)`);
    }
    this.conn = conn;
  }

  async connectClose(): Promise<void> {
    const conn = this.conn;
    this.conn = null;
    if (conn !== null) await callAsync<number>(load().close, conn);
  }

  async connectGetHostname(): Promise<string> {
    const p = await callAsync<Ptr>(load().hostname, this.open());
    if (p === null) throw this.lastError("virConnectGetHostname");
    try {
      return koffi.decode(p, "char", -1) as string;
    } finally {
      load().cFree(p);
    }
  }

  domainLookupByUUIDString(uuid: string): Promise<NativeDomain> {
    return this.domainCall(load().lookupByUuid, "virDomainLookupByUUIDString", uuid);
  }

  domainLookupByName(name: string): Promise<NativeDomain> {
    return this.domainCall(load().lookupByName, "virDomainLookupByName", name);
  }

  domainCreateXML(xml: string): Promise<NativeDomain> {
    return this.domainCall(load().createXml, "virDomainCreateXML", xml, 0);
  }

  /** The connection's last error, as an Error naming the call. */
  lastError(call: string): LibvirtError {
    if (this.conn === null) return new LibvirtError(`${call}: connection closed`);
    const a = load();
    const buf = Buffer.alloc(VIR_ERROR_BUFFER);
    if (a.copyLastError(this.conn, buf) < 0) return new LibvirtError(`${call} failed`);
    const head = koffi.decode(buf, VirErrorHead) as { message: string | null };
    const message = head.message ?? `${call} failed`;
    a.resetError(buf);
    return new LibvirtError(message);
  }

  private open(): Ptr {
    if (this.conn === null) throw new LibvirtError(`no open connection to ${this.uri}`);
    return this.conn;
  }

  private async domainCall(fn: Fn, name: string, ...args: unknown[]): Promise<NativeDomain> {
    const dom = await callAsync<Ptr>(fn, this.open(), ...args);
    if (dom === null) throw this.lastError(name);
    return new NativeDomain(this, dom);
  }
}
