/**
 * EngineVm's rule, over in-memory ports: the engine VM's lease is held exactly while the
 * VM may run on this host. (The same class runs against real sanlock daemons, libvirt
 * and QEMU in python-host.test.ts, daemon*.test.ts and test/cli/vm.test.ts.)
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EngineVm } from "../../src/agent/engine-vm.js";
import type { VmLeasePort, VmPort } from "../../src/agent/ports.js";
import { STORAGE_LOCKED_START_REASON } from "../../src/agent/start-failure-record.js";
import { START_FAILURE_FILE } from "../../src/broker/monitors/start-failure-reader.js";
import { silentLogger } from "../../src/common/log.js";
import { LeaseHeldError } from "../../src/sanlock/errors.js";
import type {
  AcquireResult,
  LeaseState,
  ReleaseResult,
  WaitOutcome,
} from "../../src/sanlock/vm-lease.js";
import { type EngineLease, EngineLeaseError } from "../../src/storage/engine-lease.js";
import type { VmConf } from "../../src/storage/ovf/vmconf-types.js";
import { removeDir, tempDir } from "../support/temp.js";

const GUARD: EngineLease = {
  lockspace: "sd",
  resource: "vol",
  path: "/d/images/img/vol.lease",
  offset: 0,
  kind: "volume",
  source: "exclusive-disk",
  from: "test",
};
const VM_CONF = { vmId: "vm" } as VmConf;

/** a lease that another host may hold; `log` records what was asked of it */
class FakeLease implements VmLeasePort {
  held = false;
  orphan = false;
  heldElsewhere = false;
  readonly log: string[] = [];
  async acquire(): Promise<AcquireResult> {
    this.log.push("acquire");
    if (this.heldElsewhere) throw new LeaseHeldError("sd:vol", -243, 2);
    if (this.orphan) {
      this.orphan = false;
      this.held = true;
      return "adopted";
    }
    this.held = true;
    return "acquired";
  }
  async adopt(): Promise<boolean> {
    this.log.push("adopt");
    if (!this.orphan) return this.held;
    this.orphan = false;
    this.held = true;
    return true;
  }
  async release(): Promise<ReleaseResult> {
    this.log.push("release");
    const was = this.held || this.orphan;
    this.held = this.orphan = false;
    return was ? "released" : "not-held";
  }
  async inquire(): Promise<LeaseState> {
    return this.held ? "held" : "not-held";
  }
  close(): void {
    if (this.held) this.orphan = true;
    this.held = false;
  }
}

/** the agent's own lease, with sanlock's waiting acquire: `answer` is sanlock's verdict */
class FakeWaitingLease extends FakeLease {
  private pending: ((o: WaitOutcome) => void) | null = null;
  override async acquire(): Promise<AcquireResult> {
    if (this.held) {
      this.log.push("acquire");
      return "already-held";
    }
    if (this.pending) {
      this.log.push("acquire");
      throw new LeaseHeldError("sd:vol", -244, null);
    }
    return super.acquire();
  }
  acquireWaiting(): Promise<WaitOutcome> {
    this.log.push("wait");
    return new Promise((resolve) => {
      this.pending = resolve;
    });
  }
  cancelWaiting(): void {
    this.log.push("cancel");
    this.answer({ granted: false, cancelled: true, rv: -25, ownerHostId: null });
  }
  get waiting(): boolean {
    return this.pending !== null;
  }
  /** sanlock ends the waiting acquire */
  answer(o: WaitOutcome): void {
    const p = this.pending;
    this.pending = null;
    if (o.granted) {
      this.heldElsewhere = false;
      this.held = true;
    }
    p?.(o);
  }
}

class FakeVm implements VmPort {
  running = false;
  failStart: Error | null = null;
  readonly started: Array<readonly EngineLease[]> = [];
  async isActive(): Promise<boolean> {
    return this.running;
  }
  async start(_: VmConf, leases: readonly EngineLease[]): Promise<void> {
    if (this.failStart) throw this.failStart;
    this.started.push(leases);
    this.running = true;
  }
  async shutdown(): Promise<void> {}
  async powerOff(): Promise<void> {
    this.running = false;
  }
  async close(): Promise<void> {}
}

describe("EngineVm: the lease is held exactly while the VM may run here", () => {
  let runDir: string;
  let vm: FakeVm;
  let lease: FakeLease;
  let resolve: (c: VmConf) => Promise<EngineLease[]>;
  const engine = () =>
    new EngineVm({
      vm,
      resolveLeases: (c) => resolve(c),
      leasePort: () => lease,
      runDir,
      log: silentLogger,
    });
  const failure = async () =>
    JSON.parse(await readFile(path.join(runDir, START_FAILURE_FILE), "utf8").catch(() => "null"));

  beforeEach(async () => {
    runDir = await tempDir("engine-vm");
    vm = new FakeVm();
    lease = new FakeLease();
    resolve = async () => [GUARD];
  });
  afterEach(async () => {
    await removeDir(runDir);
  });

  it("takes the guard, then starts the VM with every resolved lease", async () => {
    const e = engine();
    const r = await e.start(VM_CONF);
    expect(r).toMatchObject({ started: true, lease: "acquired", guard: GUARD });
    expect(lease.log).toEqual(["acquire"]);
    expect(vm.started).toEqual([[GUARD]]);
    expect(e.leaseHeld).toBe(true);
    expect(await failure()).toBeNull();
  });

  it("held by another host: refused as storage locked, recorded, the VM never started", async () => {
    lease.heldElsewhere = true;
    const r = await engine().start(VM_CONF);
    expect(r).toMatchObject({ started: false, locked: true, reason: STORAGE_LOCKED_START_REASON });
    expect(vm.started).toEqual([]);
    expect((await failure()).reason).toBe(STORAGE_LOCKED_START_REASON);
  });

  it("no oVirt lease in vm.conf: refused, the lease never taken, the VM never started", async () => {
    resolve = async () => {
      throw new EngineLeaseError("vm.conf: the engine VM has neither a <lease> nor …");
    };
    const r = await engine().start(VM_CONF);
    expect(r).toMatchObject({ started: false, locked: false });
    expect(r.started === false && r.reason).toMatch(/^cannot start the engine VM: vm.conf: /);
    expect(lease.log).toEqual([]);
    expect(vm.started).toEqual([]);
  });

  it("a start that fails after the lease was taken gives the lease back", async () => {
    vm.failStart = new Error("libvirt: no such bridge");
    const e = engine();
    const r = await e.start(VM_CONF);
    expect(r).toMatchObject({ started: false, locked: false, reason: "libvirt: no such bridge" });
    expect(lease.log).toEqual(["acquire", "release"]);
    expect(e.leaseHeld).toBe(false);
  });

  it("a lock refusal from libvirt is storage locked", async () => {
    vm.failStart = new Error("Failed to acquire lock: error -243");
    const r = await engine().start(VM_CONF);
    expect(r).toMatchObject({ started: false, locked: true, reason: STORAGE_LOCKED_START_REASON });
  });

  it("keeps the lease while the VM runs or cannot be seen, releases it once the VM is down", async () => {
    const e = engine();
    await e.start(VM_CONF);
    await e.reconcile(true);
    await e.reconcile(null);
    expect(lease.log).toEqual(["acquire"]);
    vm.running = false;
    await e.reconcile();
    expect(lease.log).toEqual(["acquire", "release"]);
    expect(e.leaseHeld).toBe(false);
  });

  it("power off releases the lease", async () => {
    const e = engine();
    await e.start(VM_CONF);
    expect(await e.powerOff()).toBe("released");
    expect(vm.running).toBe(false);
  });

  it("after a restart: the running VM's orphan is adopted; with the VM gone it is released", async () => {
    await engine().start(VM_CONF);
    lease.close(); // the agent exited: the lease stays with this host as an orphan
    const restarted = engine();
    await restarted.adoptAtStartup(VM_CONF);
    expect(restarted.leaseHeld).toBe(true);
    expect(lease.held).toBe(true);

    lease.close();
    vm.running = false;
    const again = engine();
    await again.adoptAtStartup(VM_CONF);
    expect(again.leaseHeld).toBe(false);
    expect(lease.held || lease.orphan).toBe(false);
  });

  it("no vm.conf at start-up: the guard is found at the next loop, so the orphan is not kept forever", async () => {
    await engine().start(VM_CONF);
    lease.close();
    const restarted = engine();
    await restarted.adoptAtStartup(null);
    expect(lease.orphan).toBe(true);
    vm.running = false;
    await restarted.reconcile(false, VM_CONF);
    expect(lease.held || lease.orphan).toBe(false);
  });

  it("a vm.conf whose lease cannot be resolved is logged once, not every loop", async () => {
    resolve = async () => {
      throw new EngineLeaseError("vm.conf: no lease");
    };
    const lines: string[] = [];
    const quiet = () => undefined;
    const log = {
      warn: (_o: unknown, m: string) => lines.push(m),
      info: quiet,
      debug: quiet,
      error: quiet,
    } as never;
    const e = new EngineVm({
      vm,
      resolveLeases: (c) => resolve(c),
      leasePort: () => lease,
      runDir,
      log,
    });
    for (let i = 0; i < 5; i++) await e.reconcile(false, VM_CONF);
    expect(lines).toEqual(["cannot tell which lease guards the engine VM"]);
    expect(lease.log).toEqual([]);
  });

  describe("a refused start waits in sanlock (the agent's loop)", () => {
    let waiting: FakeWaitingLease;
    let grants: number;
    /** as the agent builds it; `oneShot`: as `he-ha vm start` does (no waiting) */
    const agentEngine = (oneShot = false) => {
      const e = new EngineVm({
        vm,
        resolveLeases: (c) => resolve(c),
        leasePort: () => waiting,
        runDir,
        log: silentLogger,
      });
      if (!oneShot) e.waitForLeaseInSanlock(() => grants++);
      return e;
    };
    const settle = () => new Promise((r) => setImmediate(r));

    beforeEach(() => {
      waiting = new FakeWaitingLease();
      waiting.heldElsewhere = true;
      grants = 0;
    });

    it("leaves one waiting acquire; the VM starts only once sanlock granted it and the agent starts again", async () => {
      const e = agentEngine();
      expect(await e.start(VM_CONF)).toMatchObject({ started: false, locked: true });
      expect(e.leaseWaiting).toBe(true);
      // the next loops keep deciding: their starts are refused, no second wait is queued
      expect(await e.start(VM_CONF)).toMatchObject({ started: false, locked: true });
      expect(waiting.log.filter((x) => x === "wait")).toHaveLength(1);
      expect(vm.started).toEqual([]);

      waiting.answer({ granted: true });
      await settle();
      expect(grants).toBe(1);
      expect(e.leaseGrantedIdle).toBe(true);
      expect(vm.started).toEqual([]);

      const r = await e.start(VM_CONF);
      expect(r).toMatchObject({ started: true, lease: "already-held" });
      expect(vm.started).toEqual([[GUARD]]);
      expect(e.leaseGrantedIdle).toBe(false);
      expect(e.leaseHeld).toBe(true);
    });

    it("is given up when the agent no longer may start the VM here; nothing is granted then", async () => {
      const e = agentEngine();
      await e.start(VM_CONF);
      await e.leaseWaitSettled({ waitWanted: true, releaseGranted: false });
      expect(e.leaseWaiting).toBe(true);
      await e.leaseWaitSettled({ waitWanted: false, releaseGranted: false });
      await settle();
      expect(waiting.log).toContain("cancel");
      expect(e.leaseWaiting).toBe(false);
      expect(grants).toBe(0);
      expect(vm.started).toEqual([]);
    });

    it("a granted lease the agent did not start the VM with is released", async () => {
      const e = agentEngine();
      await e.start(VM_CONF);
      waiting.answer({ granted: true });
      await settle();
      await e.leaseWaitSettled({ waitWanted: true, releaseGranted: true });
      expect(waiting.log.at(-1)).toBe("release");
      expect(await waiting.inquire()).toBe("not-held");
      expect(e.leaseGrantedIdle).toBe(false);
      expect(vm.started).toEqual([]);
    });

    it("refused by sanlock (the owner is alive): nothing held, the next start asks again", async () => {
      const e = agentEngine();
      await e.start(VM_CONF);
      waiting.answer({ granted: false, cancelled: false, rv: -243, ownerHostId: 2 });
      await settle();
      expect(grants).toBe(0);
      await e.start(VM_CONF);
      expect(waiting.log.filter((x) => x === "wait")).toHaveLength(2);
    });

    it("a one-shot start (he-ha vm start) leaves nothing waiting", async () => {
      const e = agentEngine(true);
      expect(await e.start(VM_CONF)).toMatchObject({ started: false, locked: true });
      expect(e.leaseWaiting).toBe(false);
      expect(waiting.log).not.toContain("wait");
    });
  });
});
