import { randomUUID } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { productArgs } from "../../lab/children.js";
import { Libvirtd } from "../../lab/standins/libvirtd.js";
import {
  pollUntil,
  runCommand,
  signalChild,
  spawnTracked,
  type TrackedChild,
  terminate,
  waitExit,
} from "../../lab/standins/processes.js";
import { SanlockDaemon } from "../../lab/standins/sanlock-daemon.js";
import { TEST_TIMING, timingSection } from "../../lab/timing.js";
import { BrokerClient } from "../../src/broker/client.js";
import { type HaPaths, haPaths } from "../../src/common/paths.js";
import {
  initStorageDomain,
  type StorageInitOptions,
  type StorageInitResult,
} from "../../src/storage/init.js";
import { decodeHostBlock } from "../../src/storage/whiteboard/index.js";
import type { HostBlock } from "../../src/storage/whiteboard/types.js";
import { OVF_TEST } from "../fixtures/ovf-fixtures.js";
import { type BrokerProcess, startBrokerProcess } from "../support/broker-process.js";
import { removeDir, tempDir } from "../support/temp.js";

export const OVF = OVF_TEST;

/** The test timing figures tests bound their waits by (seconds): lab/timing.ts. */
export const FAST = TEST_TIMING;

/** Agent timing scaled down so a whole start takes seconds (agent.conf [timing]). */
export const FAST_TIMING = timingSection(
  TEST_TIMING,
  "the integration tests' timing (lab/timing.ts)",
);

/** An HTTP server answering the engine's health page with 200 (engine "good"). */
export async function startHealthServer(): Promise<{ fqdn: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    res.writeHead(req.url === "/ovirt-engine/services/health" ? 200 : 404);
    res.end("DB Up!Welcome to Health Status!");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    fqdn: `127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * A storage domain for agent tests: the engine VM from the OVF fixture (with an
 * OVF_STORE), or, given `vmConf`, from that vm.conf alone (the archive's copy).
 */
export async function makeStorage(
  dir: string,
  vmConf?: string,
  /** other storage init options (a 4K domain's geometry, another domain directory) */
  over: Partial<StorageInitOptions> = {},
): Promise<StorageInitResult> {
  return initStorageDomain({
    // the storage domain UUID comes from the engine disk's domainID, as the engine's OVF
    // names the lease's lockspace by it
    domain: path.join(dir, "storage", "he-domain"),
    hostConf: "fqdn=engine.example.com\nstorage=nfs.example.com:/he\ndomainType=nfs\n",
    ...(vmConf === undefined ? { ovf: await readFile(OVF, "utf8") } : { vmConf }),
    ioTimeout: 1,
    ...over,
  });
}

/**
 * An engine VM small enough for QEMU's software emulation: one small disk, shared
 * exclusive as the hosted-engine disk is (its volume lease guards the VM), no NICs or
 * display (sims running side by side would race for VNC ports). `storage init` creates
 * the disk volume and its lease. The disk is read-only: the simulated hosts share one
 * machine, where QEMU's own image locking (OFD locks on the file) would refuse a second
 * writer before libvirt asks sanlock for the lease; across real hosts only the lease
 * stands in the way.
 */
export function smallVmConf(vmId: string): string {
  const [sd, image, volume] = [randomUUID(), randomUUID(), randomUUID()];
  return [
    `vmId=${vmId}`,
    "vmName=HostedEngine",
    "memSize=64",
    "smp=1",
    "emulatedMachine=pc",
    `devices={index:0,type:disk,device:disk,iface:virtio,format:raw,poolID:00000000-0000-0000-0000-000000000000,domainID:${sd},imageID:${image},volumeID:${volume},shared:exclusive,readonly:true,propagateErrors:off}`,
    "",
  ].join("\n");
}

export interface HostOptions {
  /** the host's hypervisor (see Libvirtd); default `test` */
  hypervisor?: "test" | "qemu";
  /**
   * QEMU hosts: write `<root>/etc/libvirt/qemu.conf` with VDSM's `lock_manager =
   * "sanlock"` for the agent to read (default true); false = the agent cannot read it
   */
  qemuConf?: boolean;
  /** more agent.conf text after the fast timing (e.g. a [score] section) */
  agentConf?: string;
  /**
   * libvirtd asks for SASL (`auth_unix_rw = "sasl"`, as VDSM configures it) and the host
   * carries oVirt's authfile (`etc/ovirt-hosted-engine/virsh_auth.conf`); hosted-engine.conf
   * names neither (the default applies)
   */
  sasl?: boolean;
}

/**
 * One simulated HA host for agent tests: its own HE_HA_ROOT, a real sanlock daemon, a
 * libvirtd serving the test driver (the VM outlives agent and broker), a real broker
 * process and the agent process, both compiled (dist/, lab/children.ts).
 */
export class AgentHost {
  readonly paths: HaPaths;
  readonly client: BrokerClient;
  broker: TrackedChild | null = null;
  private brokerProcess: BrokerProcess | null = null;
  agent: TrackedChild | null = null;

  private constructor(
    readonly root: string,
    readonly hostId: number,
    readonly storage: StorageInitResult,
    readonly sanlock: SanlockDaemon,
    readonly libvirtd: Libvirtd,
  ) {
    this.paths = haPaths(root);
    this.client = new BrokerClient(this.paths.brokerSocket, { timeoutMs: 5000 });
  }

  static async create(
    root: string,
    hostId: number,
    storage: StorageInitResult,
    fqdn: string,
    opts: HostOptions = {},
  ): Promise<AgentHost> {
    await mkdir(root, { recursive: true });
    const sanlock = await SanlockDaemon.start({
      runDir: path.join(root, "sanlock"),
      hostName: `host${hostId}`,
    });
    let libvirtd: Libvirtd;
    try {
      libvirtd = await Libvirtd.start({
        dir: path.join(root, "libvirt"),
        hypervisor: opts.hypervisor ?? "test",
        sanlockRunDir: sanlock.runDir,
        ...(opts.sasl ? { sasl: { user: "vdsm@ovirt", password: randomUUID() } } : {}),
      });
    } catch (e) {
      await sanlock.stop();
      throw e;
    }
    if (opts.hypervisor === "qemu" && opts.qemuConf !== false) {
      // this host's qemu.conf as the agent reads it (vm_lease_holder=auto): VDSM's setting
      await mkdir(path.join(root, "etc/libvirt"), { recursive: true });
      await writeFile(path.join(root, "etc/libvirt/qemu.conf"), 'lock_manager = "sanlock"\n');
    }
    const host = new AgentHost(root, hostId, storage, sanlock, libvirtd);
    const p = host.paths;
    await mkdir(path.dirname(p.hostConf), { recursive: true });
    await mkdir(path.dirname(p.agentConf), { recursive: true });
    const conf = [
      `host_id=${hostId}`,
      `fqdn=${fqdn}`,
      "storage=nfs.example.com:/he",
      "domainType=nfs",
      "network_test=none",
      "gateway=127.0.0.1",
      "bridge=lo",
      `libvirt_uri=${libvirtd.uri}`,
      ...storage.confLines.map(([k, v]) => `${k}=${v}`),
      "",
    ].join("\n");
    await writeFile(p.hostConf, conf);
    await writeFile(p.agentConf, FAST_TIMING + (opts.agentConf ?? ""));
    if (opts.sasl)
      await writeFile(
        path.join(path.dirname(p.hostConf), "virsh_auth.conf"),
        await readFile(libvirtd.authfile, "utf8"),
      );
    return host;
  }

  get env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      HE_HA_ROOT: this.root,
      SANLOCK_RUN_DIR: this.sanlock.runDir,
      HE_HA_SOCKET_GROUP: "",
    };
  }

  get agentLogFile(): string {
    return path.join(this.root, "agent.log");
  }

  /** the broker's log (`<root>/broker.log`), "" before it started */
  async brokerLog(): Promise<string> {
    return (await this.brokerProcess?.log()) ?? "";
  }

  async agentLog(): Promise<string> {
    return readFile(this.agentLogFile, "utf8").catch(() => "");
  }

  async startBroker(): Promise<void> {
    this.brokerProcess = await startBrokerProcess(this.root, {
      env: this.env,
      logLevel: "info",
      ready: "stats",
      clientTimeoutMs: 5000,
    });
    this.broker = this.brokerProcess.proc;
  }

  async stopBroker(): Promise<void> {
    await this.brokerProcess?.stop(15_000);
    this.brokerProcess = null;
    this.broker = null;
  }

  async startAgent(args: string[] = []): Promise<TrackedChild> {
    this.agent = await this.startAgentProcess(args, this.agentLogFile);
    return this.agent;
  }

  /**
   * An agent process (e.g. `--cleanup` next to the daemon), logging to `logFile` (default
   * its own file named for its arguments).
   */
  async startAgentProcess(
    args: string[],
    logFile = path.join(this.root, `agent-${args.join("").replace(/\W/g, "")}.log`),
  ): Promise<TrackedChild> {
    return spawnTracked(
      process.execPath,
      productArgs("ovirt-ha-agent", "--log-level", "debug", "--no-log-pretty", ...args),
      { logFile, env: this.env },
    );
  }

  /** SIGTERM and wait; the exit code (or signal) */
  async stopAgent(): Promise<number | string | null> {
    const a = this.agent;
    if (!a) return null;
    signalChild(a, "SIGTERM");
    if (!(await waitExit(a, 60_000))) {
      signalChild(a, "SIGKILL");
      await waitExit(a, 5000);
    }
    this.agent = null;
    return a.exited;
  }

  /** this host's block as the broker reads it from storage, or undefined */
  async ownBlock(): Promise<HostBlock | undefined> {
    const seg = (await this.client.getStats()).get(this.hostId);
    if (!seg) return undefined;
    const r = decodeHostBlock(seg, this.hostId);
    return r?.ok ? r.block : undefined;
  }

  /**
   * Waits until this agent has published blocks spanning `seconds` of its own clock
   * (block timestamps are its monotonic seconds at each loop): a bound set by the
   * agent's own loop, not by the test's wall clock. Returns the last block.
   */
  async waitPublishedFor(seconds: number, timeoutMs = 90_000): Promise<HostBlock> {
    const first = (await this.ownBlock())?.timestamp;
    if (first === undefined) throw new Error(`host ${this.hostId} has published no block`);
    let last: HostBlock | undefined;
    await pollUntil(
      `host ${this.hostId} publishing for ${seconds} s`,
      async () => {
        last = await this.ownBlock().catch(() => undefined);
        return (last?.timestamp ?? first) >= first + seconds;
      },
      timeoutMs,
      100,
    );
    return last!;
  }

  /** waits until this host's published state is `state` */
  async waitState(state: string | RegExp, timeoutMs = 90_000): Promise<HostBlock> {
    let last: HostBlock | undefined;
    await pollUntil(
      `host ${this.hostId} state ${state}`,
      async () => {
        last = await this.ownBlock().catch(() => undefined);
        const s = last?.extra.state ?? "";
        return typeof state === "string" ? s === state : state.test(s);
      },
      timeoutMs,
      200,
    ).catch(async (e: Error) => {
      throw new Error(
        `${e.message}; last block: ${JSON.stringify(last?.extra)}\n${(await this.agentLog()).slice(-4000)}`,
      );
    });
    return last!;
  }

  /** `virsh domstate` of the engine VM: running, shut off, ... or "absent" */
  async vmState(): Promise<string> {
    const r = await runCommand("virsh", [
      "-c",
      this.libvirtd.authUri,
      "domstate",
      this.storage.vmId,
    ]);
    return r.code === 0 ? r.output.trim() : "absent";
  }

  /** `sanlock client status` of this host's daemon */
  async sanlockStatus(): Promise<string> {
    return (await this.sanlock.client(["client", "status"])).output;
  }

  async destroy(): Promise<void> {
    this.client.close();
    if (this.agent) await terminate(this.agent, 30_000);
    await this.stopBroker();
    await this.libvirtd.stop().catch(() => undefined);
    await this.sanlock.stop().catch(() => undefined);
  }
}

/** Two AgentHosts with running brokers on one fresh storage domain, and a health page. */
export interface TwoHosts {
  dir: string;
  storage: StorageInitResult;
  h1: AgentHost;
  h2: AgentHost;
  /** stops every process of both hosts and removes the directory (KEEP_AGENT_TEST_DIR keeps it) */
  destroy(): Promise<void>;
}

export async function startTwoHosts(
  name: string,
  opts: { vmConf?: (vmId: string) => string; host?: (id: number) => HostOptions } = {},
): Promise<TwoHosts> {
  const dir = await tempDir(name);
  const health = await startHealthServer();
  const storage = await makeStorage(dir, opts.vmConf?.(randomUUID()));
  const create = (id: number) =>
    AgentHost.create(path.join(dir, `host${id}`), id, storage, health.fqdn, opts.host?.(id));
  const [h1, h2] = await Promise.all([create(1), create(2)]);
  await Promise.all([h1.startBroker(), h2.startBroker()]);
  return {
    dir,
    storage,
    h1,
    h2,
    async destroy() {
      await Promise.all([h1.destroy(), h2.destroy()]);
      await health.close();
      if (!process.env.KEEP_AGENT_TEST_DIR) await removeDir(dir);
    },
  };
}

/**
 * The engine VM's lease on a domain made by `storage init`: oVirt's volume lease of the
 * engine disk, resource `<volume>` in lockspace `<sdUUID>` (src/storage/engine-lease.ts).
 */
export function engineLeaseOf(storage: StorageInitResult): {
  lockspace: string;
  resource: string;
  path: string;
  offset: number;
} {
  const d = storage.engineDisk;
  return { lockspace: storage.sdUUID, resource: d.volumeUUID, path: d.leasePath, offset: 0 };
}

/** the `r` line of the engine VM's lease in `sanlock client status`, then `rest` */
export function engineLeaseRe(storage: StorageInitResult, rest = ""): RegExp {
  const l = engineLeaseOf(storage);
  return new RegExp(`^r ${l.lockspace}:${l.resource}:${rest}`, "m");
}
