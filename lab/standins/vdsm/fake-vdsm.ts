/**
 * A test server speaking VDSM's wire protocol: TLS (client certificate required, signed
 * by the test CA), STOMP 1.2 frames (CONNECT/CONNECTED, SUBSCRIBE, SEND → MESSAGE on the
 * `reply-to` destination, as yajsonrpc's StompAdapterImpl routes them), JSON-RPC 2.0
 * bodies. Every request is checked against the schema expectations (api-schema.ts); a
 * request that does not fit is answered with JSON-RPC error -32602 and recorded in
 * `violations`. Answers have VDSM's shapes; VM state follows VDSM's rules: a VM that
 * stops stays as a `Down` entry until VM.destroy removes it. Test tooling only.
 */
import type { AddressInfo } from "node:net";
import tls from "node:tls";
import { encodeFrame, StompParser } from "../../../src/vdsm/stomp-frame.js";
import { REQUEST_DESTINATION } from "../../../src/vdsm/wire.js";
import { checkRequest } from "./api-schema.js";

export interface FakeVm {
  status: string;
  exitMessage?: string;
  exitReason?: number;
  /** VDSM's cpu figures of the VM (percent of one CPU, as strings), when it reports them */
  cpu?: { cpuUser: string; cpuSys: string; cpuActual?: boolean; cpuUsage?: string };
}

/** A volume of a storage domain as VDSM knows it (StorageDomain.getVolumes, Volume.getInfo, Image.prepare). */
export interface FakeVolume {
  /** Volume.getInfo `description` (the engine's OVF_STORE JSON for its stores) */
  description?: string;
  /** Volume.getInfo `lease` (VolumeLeaseStatus); undefined: no `lease` key */
  lease?: { path: string; offset: number; owners: number[]; version: number | null } | null;
  /** Image.prepare's `path`: where the test made the volume (a file, a link to a loop device) */
  path: string;
}

/** An iSCSI target VDSM can log in to: a portal address and port, a target name. */
export interface FakeIscsiTarget {
  connection: string;
  port: string;
  iqn: string;
  tpgt: string;
}

export interface Call {
  method: string;
  params: Record<string, unknown>;
  /** which TLS connection made it (1, 2, … in the order they connected) */
  conn: number;
}

/** Where the fake's VMs run (e.g. a libvirtd stand-in); without one they exist only as entries. */
export interface VmLauncher {
  launch(vmId: string): Promise<void>;
  stop(vmId: string): Promise<void>;
  running(vmId: string): Promise<boolean>;
}

export interface FakeVdsmOptions {
  ca: string;
  key: string;
  cert: string;
  port?: number;
  launcher?: VmLauncher;
}

const JSONRPC_INVALID_PARAMS = -32602;
const JSONRPC_METHOD_NOT_FOUND = -32601;

export class FakeVdsm {
  readonly calls: Call[] = [];
  readonly violations: string[] = [];
  readonly vms = new Map<string, FakeVm>();
  /** TLS handshakes refused (bad client certificate) */
  tlsRefusals = 0;
  /** next VM.create fails with this VDSM error */
  failCreate: { code: number; message: string } | null = null;
  /** VM.create makes the VM go Down at once with this exit message (lease refused) */
  createGoesDown: string | null = null;
  /** every call of this method fails with this VDSM error until cleared */
  readonly failing = new Map<string, { code: number; message: string }>();
  /** storage domains VDSM knows (StorageDomain.getInfo answers them), by sdUUID */
  /** by sdUUID; `blockSize`/`alignment` as getInfo reports them (default 512 and 1 MiB) */
  readonly domains = new Map<
    string,
    { remotePath: string; type?: string; blockSize?: number; alignment?: number }
  >();
  /**
   * the volumes of each domain, `<sd>/<img>/<vol>` → volume. Image.prepare of a volume
   * not listed answers a path under a made-up NFS mount (as before volumes were listed).
   */
  readonly volumes = new Map<string, FakeVolume>();
  /** the iSCSI targets a connectStorageServer with domainType 3 can reach; others fail (464) */
  readonly iscsiTargets: FakeIscsiTarget[] = [];
  /** Host.getStats: `memFree` (MiB) and `network` (by name: `{state}`; undefined: no key) */
  memFree = 12_000;
  network: Record<string, { state: string }> | undefined = {};
  /** Host.getStorageRepoStats: the domain monitor's last read delay (seconds, as a string) */
  domainDelay = "0.000512";
  /** TLS connections served so far */
  connections = 0;
  /** heart-beats (empty lines) sent so far, on every connection */
  heartBeatsSent = 0;
  /** VDSM hangs: no heart-beats, no answers (requests are still recorded) */
  frozen = false;
  /** the `heart-beat` header of each CONNECT, in order */
  readonly connectHeartBeats: string[] = [];
  /** the domain monitor acquires the host id at the n-th getStorageRepoStats (1 = at once) */
  acquireAfterPolls = 1;
  private repoPolls = 0;
  /** VMs whose launcher is still starting them: they stay WaitForLaunch meanwhile */
  private readonly launching = new Set<string>();
  /** domains VDSM monitors (Host.startMonitoringDomain), with the host id */
  readonly monitored = new Map<string, number>();
  private server: tls.Server | null = null;
  private readonly sockets = new Set<tls.TLSSocket>();
  port = 0;

  constructor(private readonly o: FakeVdsmOptions) {}

  async start(): Promise<void> {
    const server = tls.createServer({
      key: this.o.key,
      cert: this.o.cert,
      ca: this.o.ca,
      requestCert: true,
      rejectUnauthorized: true,
    });
    server.on("tlsClientError", () => {
      this.tlsRefusals++;
    });
    server.on("secureConnection", (s) => this.serve(s));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port || this.o.port || 0, "127.0.0.1", () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** VDSM stops: the listener closes and every connection drops. VMs keep running. */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const sock of this.sockets) sock.destroy();
    this.sockets.clear();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  /**
   * VDSM restarts on the same port: it recovers its VMs, but its domain monitors are
   * gone until someone starts them again (Host.startMonitoringDomain), as after a
   * restart of vdsmd.
   */
  async restart(): Promise<void> {
    await this.stop();
    this.monitored.clear();
    await this.start();
  }

  methods(): string[] {
    return this.calls.map((c) => c.method);
  }

  /** the calls made on one connection, in order */
  callsOn(conn: number): Call[] {
    return this.calls.filter((c) => c.conn === conn);
  }

  /** the connection that first called `method` (undefined when none did) */
  connOf(method: string): number | undefined {
    return this.calls.find((c) => c.method === method)?.conn;
  }

  private serve(sock: tls.TLSSocket): void {
    const conn = ++this.connections;
    this.sockets.add(sock);
    sock.on("close", () => this.sockets.delete(sock));
    sock.on("error", () => undefined);
    const parser = new StompParser();
    const subs = new Map<string, string>(); // destination → subscription id
    sock.on("data", (chunk: Buffer) => {
      for (const f of parser.push(chunk)) {
        if (f.command === "CONNECT") {
          if (f.headers["accept-version"] !== "1.2") {
            sock.write(encodeFrame("ERROR", {}, "Version unsupported"));
            continue;
          }
          // stompserver._cmd_connect: answer `cy,cx` of the client's `cx,cy`, each at
          // least 1000 ms unless 0, then send a heart-beat every cy ms
          const asked = f.headers["heart-beat"] ?? "0,0";
          this.connectHeartBeats.push(asked);
          const [cx, cy] = asked.split(",").map((n) => {
            const v = Number(n) || 0;
            return v === 0 ? 0 : Math.max(v, 1000);
          });
          sock.write(
            encodeFrame("CONNECTED", { version: "1.2", "heart-beat": `${cy ?? 0},${cx ?? 0}` }),
          );
          if (cy) {
            const beat = setInterval(() => {
              if (sock.destroyed) return clearInterval(beat);
              if (this.frozen) return;
              this.heartBeatsSent++;
              sock.write("\n");
            }, cy);
            beat.unref();
            sock.on("close", () => clearInterval(beat));
          }
        } else if (f.command === "SUBSCRIBE") {
          const dest = f.headers.destination;
          const id = f.headers.id;
          if (!dest || !id) {
            sock.write(encodeFrame("ERROR", {}, "Missing destination or subscription id header"));
            continue;
          }
          subs.set(dest, id);
        } else if (f.command === "SEND") {
          if (f.headers.destination !== REQUEST_DESTINATION) {
            sock.write(encodeFrame("ERROR", {}, "Subscription not available"));
            continue;
          }
          const replyTo = f.headers["reply-to"] ?? "";
          const sub = subs.get(replyTo);
          if (sub === undefined) {
            this.violations.push(`reply-to ${replyTo} has no subscription`);
            continue;
          }
          void this.handle(f.body.toString("utf8"), conn).then((answer) => {
            if (sock.destroyed || this.frozen) return;
            sock.write(
              encodeFrame(
                "MESSAGE",
                { destination: replyTo, "content-type": "application/json", subscription: sub },
                JSON.stringify(answer),
              ),
            );
          });
        }
      }
    });
  }

  private async handle(body: string, conn: number): Promise<Record<string, unknown>> {
    const req = JSON.parse(body) as {
      jsonrpc?: string;
      id?: string;
      method?: string;
      params?: Record<string, unknown>;
    };
    const id = req.id ?? null;
    const error = (code: number, message: string) => ({
      jsonrpc: "2.0",
      id,
      error: { code, message },
    });
    if (req.jsonrpc !== "2.0") {
      this.violations.push(`request without jsonrpc 2.0: ${body}`);
      return error(-32600, "Invalid request");
    }
    const method = req.method ?? "";
    const params = req.params ?? {};
    const problems = checkRequest(method, params);
    if (problems.length > 0) {
      this.violations.push(...problems);
      return error(
        problems[0]?.includes("not a verb") ? JSONRPC_METHOD_NOT_FOUND : JSONRPC_INVALID_PARAMS,
        problems.join("; "),
      );
    }
    this.calls.push({ method, params, conn });
    const failure = this.failing.get(method);
    if (failure) return error(failure.code, failure.message);
    try {
      return { jsonrpc: "2.0", id, result: await this.answer(method, params) };
    } catch (e) {
      const err = e as { code: number; message: string };
      return error(err.code, err.message);
    }
  }

  /** VDSM's answers (shapes of vdsm-api.yml's return types). */
  private async answer(method: string, p: Record<string, unknown>): Promise<unknown> {
    const launcher = this.o.launcher;
    const noSuchVm = { code: 1, message: "Virtual machine does not exist" };
    const vmId = p.vmID as string;
    switch (method) {
      case "Host.ping2":
        return true;
      case "Host.getStats":
        return {
          memFree: this.memFree,
          cpuLoad: "0.10",
          ...(this.network !== undefined ? { network: this.network } : {}),
          haStats: {},
        };
      case "Host.getStorageRepoStats": {
        this.repoPolls++;
        const out: Record<string, unknown> = {};
        for (const sd of (p.domains as string[] | undefined) ?? [...this.monitored.keys()]) {
          if (!this.monitored.has(sd)) continue;
          out[sd] = {
            code: 0,
            lastCheck: "1.2",
            delay: this.domainDelay,
            valid: true,
            version: 5,
            acquired: this.repoPolls >= this.acquireAfterPolls,
            actual: true,
          };
        }
        return out;
      }
      case "Host.startMonitoringDomain":
        this.monitored.set(p.sdUUID as string, p.hostID as number);
        this.repoPolls = 0;
        return null;
      case "Host.stopMonitoringDomain":
        this.monitored.delete(p.sdUUID as string);
        return null;
      case "StoragePool.connectStorageServer":
        return (p.connectionParams as Array<Record<string, string>>).map((c) => ({
          id: c.id,
          status: p.domainType === 3 ? this.iscsiLogin(c) : 0,
        }));
      case "StoragePool.disconnectStorageServer":
        return (p.connectionParams as { id: string }[]).map((c) => ({ id: c.id, status: 0 }));
      case "StorageDomain.getInfo": {
        const d = this.domains.get(p.storagedomainID as string);
        if (!d)
          throw { code: 358, message: `Storage domain does not exist: (u'${p.storagedomainID}',)` };
        return {
          uuid: p.storagedomainID,
          type: d.type ?? "NFS",
          class: "Data",
          name: "hosted_storage",
          role: "Regular",
          remotePath: d.remotePath,
          version: "5",
          // vdsm-api.yml StorageDomainInfo, since 4.3.6 (the original reads block_size)
          block_size: d.blockSize ?? 512,
          alignment: d.alignment ?? 1_048_576,
          pool: [],
        };
      }
      case "StorageDomain.getStats":
        return { disktotal: "107374182400", diskfree: "96636764160", mdavalid: true };
      case "Image.prepare": {
        const v = this.volumes.get(`${p.storagedomainID}/${p.imageID}/${p.volumeID}`);
        return {
          path:
            v?.path ??
            `/rhev/data-center/mnt/server:_he/${p.storagedomainID}/images/${p.imageID}/${p.volumeID}`,
          info: { type: v ? "block" : "file", path: v?.path ?? "" },
          imgVolumesInfo: [],
        };
      }
      case "StorageDomain.getImages": {
        const sd = p.storagedomainID as string;
        const imgs = [...this.volumes.keys()]
          .filter((k) => k.startsWith(`${sd}/`))
          .map((k) => k.split("/")[1]!);
        return [...new Set(imgs)];
      }
      case "StorageDomain.getVolumes": {
        const prefix = `${p.storagedomainID}/${p.imageID}/`;
        const vols = [...this.volumes.keys()].filter((k) => k.startsWith(prefix));
        if (vols.length === 0)
          throw {
            code: 268,
            message: `Image does not exist in domain: 'image=${p.imageID}, domain=${p.storagedomainID}'`,
          };
        return vols.map((k) => k.split("/")[2]!);
      }
      case "Volume.getInfo": {
        const v = this.volumes.get(`${p.storagedomainID}/${p.imageID}/${p.volumeID}`);
        if (!v) throw { code: 201, message: `Volume does not exist: ('${p.volumeID}',)` };
        return {
          uuid: p.volumeID,
          domain: p.storagedomainID,
          image: p.imageID,
          description: v.description ?? "",
          status: "OK",
          generation: 0,
          ...(v.lease !== undefined ? { lease: v.lease } : {}),
        };
      }
      case "Host.getVMList":
        return [...this.vms.keys()].map((vmId) => ({ vmId, status: this.vms.get(vmId)?.status }));
      case "Host.getAllVmStats":
        return [...this.vms].map(([id, vm]) => this.stats(id, vm));
      case "VM.getStats": {
        const vm = this.vms.get(vmId);
        if (!vm) throw noSuchVm;
        if (launcher && vm.status !== "Down" && vm.status !== "WaitForLaunch") {
          if (!(await launcher.running(vmId))) {
            // qemu died under VDSM: it keeps the VM as Down
            vm.status = "Down";
            vm.exitMessage = "Lost connection with qemu process";
            vm.exitReason = 2;
          }
        }
        const s = this.stats(vmId, vm);
        if (this.launching.has(vmId)) return [s];
        // a created VM is reported WaitForLaunch once, then Powering up, then Up
        if (vm.status === "WaitForLaunch") vm.status = "Powering up";
        else if (vm.status === "Powering up") vm.status = "Up";
        return [s];
      }
      case "VM.create": {
        if (this.vms.has(vmId)) throw { code: 4, message: "Virtual machine already exists" };
        if (this.failCreate) {
          const f = this.failCreate;
          this.failCreate = null;
          throw f;
        }
        const vmParams = p.vmParams as Record<string, unknown>;
        if (typeof vmParams.xml !== "string" && typeof vmParams.memSize !== "string")
          throw { code: JSONRPC_INVALID_PARAMS, message: "vmParams has neither xml nor memSize" };
        if (this.createGoesDown !== null) {
          this.vms.set(vmId, { status: "Down", exitMessage: this.createGoesDown, exitReason: 1 });
        } else {
          this.vms.set(vmId, { status: "WaitForLaunch" });
          this.launching.add(vmId);
          try {
            await launcher?.launch(vmId);
          } catch (e) {
            // libvirt refused the start (e.g. its lock driver could not take the lease):
            // VDSM keeps the VM as Down with libvirt's message
            this.vms.set(vmId, {
              status: "Down",
              exitMessage: (e as Error).message,
              exitReason: 1,
            });
          } finally {
            this.launching.delete(vmId);
          }
        }
        return { vmId, status: "WaitForLaunch", ...vmParams };
      }
      case "VM.shutdown": {
        const vm = this.vms.get(vmId);
        if (!vm) throw noSuchVm;
        // the guest powers off; VDSM keeps the Down entry
        await launcher?.stop(vmId);
        vm.status = "Down";
        vm.exitMessage = "User shut down from within the guest";
        vm.exitReason = 7;
        return null;
      }
      case "VM.destroy":
        if (!this.vms.has(vmId)) throw noSuchVm;
        await launcher?.stop(vmId);
        this.vms.delete(vmId);
        return null;
      default:
        throw { code: JSONRPC_METHOD_NOT_FOUND, message: `no method ${method}` };
    }
  }

  /** VDSM's iSCSI login: 0 when a listed target answers at that address, port and name, else 464. */
  private iscsiLogin(c: Record<string, string>): number {
    const ok = this.iscsiTargets.some(
      (t) =>
        t.connection === c.connection && t.port === c.port && t.iqn === c.iqn && t.tpgt === c.tpgt,
    );
    return ok ? 0 : 464;
  }

  private stats(vmId: string, vm: FakeVm): Record<string, unknown> {
    return {
      vmId,
      status: vm.status,
      statusTime: Math.floor(performance.now()),
      ...(vm.cpu ?? {}),
      ...(vm.exitMessage !== undefined
        ? { exitMessage: vm.exitMessage, exitReason: vm.exitReason, exitCode: 1 }
        : {}),
    };
  }
}
