import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initLeaseVolume, initResourceLease } from "../../lab/standins/lease-volume.js";
import { pollUntil } from "../../lab/standins/processes.js";
import { PythonHost } from "../../lab/standins/python-host.js";
import { SanlockDaemon } from "../../lab/standins/sanlock-daemon.js";
import { silentLogger } from "../../src/common/log.js";
import { Lockspace, type LockspaceSpec } from "../../src/sanlock/lockspace.js";
import { HE_LOCKSPACE } from "../../src/sanlock/names.js";
import { VmLease, type WaitOutcome } from "../../src/sanlock/vm-lease.js";
import { removeDir, tempDir } from "../support/temp.js";

const TAKEN = { resource: "takeover2-taken", offset: 1_048_576 };
const GIVEN_UP = { resource: "takeover2-given-up", offset: 2_097_152 };

/**
 * Our waiting acquire (no SANLK_ACQUIRE_OWNER_NOWAIT) against a Python host: host 1 is
 * python3-sanlock on its own daemon (as VDSM + libvirt hold the engine VM's lease
 * there), host 2 is this process on another real daemon. After host 1 loses power,
 * sanlock itself grants our single pending acquire once host 1 counts as dead — no
 * poll of ours — and a pending acquire we give up leaves nothing held.
 */
describe("waiting acquire of the engine VM lease, real sanlock daemons and python3-sanlock", () => {
  let dir: string;
  let volume: string;
  let python: PythonHost | undefined;
  let ours: SanlockDaemon | undefined;
  let ls: LockspaceSpec;
  const lockspace = new Lockspace({ log: silentLogger, retryDelayMs: 100 });
  const leases: VmLease[] = [];
  const ref = (r: typeof TAKEN) => ({ lockspace: HE_LOCKSPACE, path: volume, ...r });
  const lease = (r: typeof TAKEN) => {
    const l = new VmLease({ ...ref(r), hostId: 2 }, { log: silentLogger });
    leases.push(l);
    return l;
  };
  /** lines of our daemon's log after `from` (its length when the step began) */
  const logSince = async (from: number) =>
    (await ours!.client(["client", "log_dump"])).output.slice(from).split("\n");
  const logLength = async () => (await ours!.client(["client", "log_dump"])).output.length;

  beforeAll(async () => {
    dir = await tempDir("takeover2-waiting-acquire");
    volume = join(dir, "lockspace.vol");
    await initLeaseVolume(volume, { ioTimeout: 1 });
    await initResourceLease(volume, HE_LOCKSPACE, TAKEN.resource, TAKEN.offset);
    await initResourceLease(volume, HE_LOCKSPACE, GIVEN_UP.resource, GIVEN_UP.offset);
    python = await PythonHost.start(join(dir, "python"), "python-host");
    ours = await SanlockDaemon.start({ runDir: join(dir, "ours"), hostName: "our-host" });
    process.env.SANLOCK_RUN_DIR = ours.runDir;
    ls = { name: HE_LOCKSPACE, hostId: 2, path: volume, offset: 0, ioTimeout: 1 };
    expect(await python.join(HE_LOCKSPACE, 1, volume, 1)).toBe("ok join");
    await lockspace.addLockspace(ls);
    expect(await python.acquire(ref(TAKEN))).toBe("ok acquire");
    expect(await python.acquire(ref(GIVEN_UP))).toBe("ok acquire");
  });

  afterAll(async () => {
    // no lease stays with this process: sanlock's forced shutdown would SIGKILL it
    for (const l of leases) {
      if (l.waiting) l.cancelWaiting();
      else if ((await l.inquire().catch(() => "not-held")) === "held")
        await l.release().catch(() => undefined);
      l.close();
    }
    await ours?.stop();
    // the Python host lost power in the test (or does now, if the test failed first)
    if (python) {
      try {
        process.kill(python.pid, "SIGKILL");
      } catch {
        // already dead
      }
      await python.sanlock.kill9().catch(() => undefined);
    }
    if (dir) await removeDir(dir);
  });

  it("is refused at once while the Python host is alive, naming it", async () => {
    const l = lease(TAKEN);
    const out = await l.acquireWaiting();
    expect(out).toMatchObject({ granted: false, cancelled: false, ownerHostId: 1 });
    expect(l.waiting).toBe(false);
    l.close();
  });

  it("after the Python host loses power, one pending acquire is granted by sanlock; a given-up one leaves nothing held", {
    timeout: 300_000,
  }, async () => {
    const mark = await logLength();
    // power loss: the sanlock daemon dies first (alive, it would release the lease of its
    // dead holder process on disk), then the holder
    await python!.sanlock.kill9();
    process.kill(python!.pid, "SIGKILL");
    // until our daemon has once read host 1's delta lease unchanged, sanlock counts host 1
    // alive and refuses at once (paxos_lease.c: last_check == last_live); from then on
    // an acquire waits in sanlock
    await pollUntil(
      "our daemon sees host 1 miss a renewal",
      async () => {
        const out = (await ours!.client(["client", "host_status", "-s", HE_LOCKSPACE, "-D"]))
          .output;
        const host1 = out.split(/^(?=\d+ timestamp)/m).find((b) => b.startsWith("1 timestamp"));
        const check = Number(host1?.match(/last_check=(\d+)/)?.[1] ?? 0);
        const live = Number(host1?.match(/last_live=(\d+)/)?.[1] ?? 0);
        return live > 0 && check > live;
      },
      60_000,
      200,
    );

    // given up: pending, then cancelled while sanlock still waits for host 1 to count as dead
    const givenUp = lease(GIVEN_UP);
    let givenUpOutcome: WaitOutcome | undefined;
    const givenUpDone = givenUp.acquireWaiting().then((o) => {
      givenUpOutcome = o;
    });
    await pollUntil(
      "our daemon is running the acquire of the lease to give up",
      async () =>
        (await logSince(mark)).some((l) =>
          l.includes(`paxos_acquire begin offset ${GIVEN_UP.offset} `),
        ),
      60_000,
      200,
    );
    expect(givenUp.waiting).toBe(true);
    givenUp.cancelWaiting();
    // its registration is closed: only the next lease's is open, so that one waits in sanlock
    const taken = lease(TAKEN);
    let takenOutcome: WaitOutcome | undefined;
    const takenDone = taken.acquireWaiting().then((o) => {
      takenOutcome = o;
    });

    // while sanlock waits, this process keeps working: reads answer, host 1 still owns both
    const ownerWhileWaiting = (await taken.owner())?.hostId;
    if (ownerWhileWaiting === 1) {
      expect(await taken.inquire()).toBe("not-held");
      expect(taken.waiting).toBe(true);
      expect(takenOutcome).toBeUndefined();
      // a second acquire meanwhile is refused, not queued behind the pending one
      await expect(taken.acquire()).rejects.toThrow(/held by another host/);
    } else {
      // Seen once in four runs on a machine at load average ~25: the lease was ours
      // already at this first read. Not explained (see docs/benchmarks.md, takeover). The
      // grant must still be sanlock's own, after it judged host 1 dead, never ours alone.
      const log = (await logSince(mark)).join("\n");
      expect(ownerWhileWaiting, log.slice(-8000)).toBe(2);
      expect(log, "granted before sanlock judged host 1 dead").toMatch(
        /paxos_acquire owner 1 .* dead /,
      );
    }

    await Promise.all([takenDone, givenUpDone]);
    expect(takenOutcome).toEqual({ granted: true });
    expect(await taken.inquire()).toBe("held");
    expect((await taken.owner())?.hostId).toBe(2);
    expect(givenUpOutcome).toMatchObject({ granted: false, cancelled: true });

    const log = await logSince(mark);
    // our one acquire of the taken lease ran a single paxos acquire inside sanlock,
    // which judged host 1 dead itself: nothing of ours asked again
    const begins = log.filter((l) => l.includes(`paxos_acquire begin offset ${TAKEN.offset} `));
    expect(begins).toHaveLength(1);
    expect(log.some((l) => /paxos_acquire owner 1 .* dead /.test(l))).toBe(true);
    expect(log.some((l) => l.includes("no wait"))).toBe(false);

    // the given-up lease: sanlock found our registration dead when it ended and released
    // it on disk; nothing of it is held or orphaned on this host
    expect(await lease(GIVEN_UP).owner()).toBeNull();
    const status = (await ours!.client(["client", "status"])).output;
    expect(status).not.toContain(GIVEN_UP.resource);
    expect(status).toContain(TAKEN.resource);
  });
});
