import { open } from "node:fs/promises";
import { SEGMENT_SIZE } from "../../src/storage/whiteboard/types.js";
import { signalChild } from "../standins/processes.js";
import type { DemoProfile } from "../timing.js";
import type { ChaosTable } from "./chaos-table.js";
import type { DemoCluster } from "./cluster.js";
import { holdsEngineLease } from "./scenario-rules.js";
import { startup, waitEngineUp } from "./scenario-steps.js";
import type { Scenario, ScenarioFigures } from "./scenario-types.js";

/**
 * The fault campaign: the demo cluster runs for `duration` seconds while faults chosen
 * by a seeded generator are injected one after another, and invariants are checked
 * throughout: never two running engine VMs (the 500 ms sampler, the 100 ms run
 * intervals, and sanlock: at most one host holding the engine lease), no torn or
 * foreign-overwritten whiteboard segment of a real host, and the engine back up with
 * good health within its bound after every fault. Same seed, same faults in the same
 * order on the same hosts.
 *
 * sanlock and libvirtd faults: these sanlock daemons run without a watchdog (`-w 0`), so
 * the campaign plays wdmd for them (see watchdogRule). The demo's libvirtd serves the test
 * driver, whose VMs live inside libvirtd: killing it kills the engine VM too, a harsher
 * fault than on a real host, where qemu outlives libvirtd.
 */
export const FAULT_KINDS = [
  "agent-kill9",
  "engine-agent-kill9",
  "agent-sigstop",
  "broker-sigstop",
  "engine-broker-sigstop",
  "broker-kill9",
  "storage-hang",
  "foreign-block",
  "maintenance-race",
  "engine-vm-crash",
  "sanlock-sigstop",
  "sanlock-sigstop-long",
  "sanlock-kill9",
  "engine-sanlock-sigstop-long",
  "engine-sanlock-kill9",
  "libvirtd-sigstop",
  "libvirtd-kill9",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * When the campaign resets a host whose sanlock daemon was killed or stopped for longer
 * than its renewal-failure time, in seconds after the fault, and the earliest moment after
 * the fault at which another host's acquire of that host's leases could succeed.
 *
 * sanlock's timeouts.h: the daemon renews its delta lease every id_renewal_seconds
 * (2 × io_timeout) and tells wdmd to expire at last renewal + id_renewal_fail_seconds
 * (8 × io_timeout); wdmd's last keepalive of /dev/watchdog comes just before that expiry,
 * and the watchdog fires watchdog_fire_timeout (60 s) after it: at the latest just before
 * last renewal + host_dead_seconds (8 × io_timeout + 60 s), when another host may take the
 * leases (timeouts.h's example: renewal T40, fire T160..T179, leases free T180). The last
 * renewal is at most one renewal interval before the fault, so the latest fire we can be
 * sure a real watchdog reaches is fault − 2 × io_timeout + host_dead − 1 s; the model resets
 * then. The 60 s is not scaled: the other hosts' real sanlock daemons wait the full
 * host_dead_seconds of their io_timeout (profile.hostDeadSeconds).
 */
export function watchdogRule(p: Pick<DemoProfile, "ioTimeout" | "hostDeadSeconds">): {
  resetAfter: number;
  acquireEarliest: number;
} {
  const renewal = 2 * p.ioTimeout;
  return {
    resetAfter: p.hostDeadSeconds - renewal - 1,
    acquireEarliest: p.hostDeadSeconds - renewal,
  };
}

/** no invariant check starts this close (seconds) before a modelled watchdog reset */
const WATCHDOG_CHECK_MARGIN_S = 3;

/** systemd's default RestartSec, which libvirtd.service (Restart=on-failure) keeps */
const LIBVIRTD_RESTART_SEC = 0.1;

/** mulberry32: a small seeded generator, the same sequence for the same seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The plan of a run: fault kinds and target picks, decided by the seed alone. */
export function faultPlan(
  seed: number,
  count: number,
  hosts: number,
): Array<{ kind: FaultKind; pick: number; hold: number }> {
  const rnd = seededRandom(seed);
  return Array.from({ length: count }, () => ({
    kind: FAULT_KINDS[Math.floor(rnd() * FAULT_KINDS.length)]!,
    pick: 1 + Math.floor(rnd() * hosts),
    hold: 1 + rnd() * 4,
  }));
}

export type { ChaosTable } from "./chaos-table.js";

const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

/** Engine lease holders per host: `r` lines of `sanlock client status` for the engine VM. */
async function leaseHolders(c: DemoCluster, vmId: string): Promise<number[]> {
  const out: number[] = [];
  for (const h of c.hosts) {
    // a stopped daemon would not answer: its host cannot acquire meanwhile
    if (!h.sanlock?.running || h.sanlock.stopped) continue;
    const st = await h.sanlock?.client(["client", "status"]).catch(() => undefined);
    if (!st) continue;
    if (holdsEngineLease(st.output, vmId)) out.push(h.id);
  }
  return out;
}

export function chaos(durationSeconds: number, seed: number): Scenario {
  return async (c, phase) => {
    await startup(c, phase);
    const t = c.profile.timing;
    const bound =
      30 + 4 * t.host_alive_timeout + t.engine_starting_timeout + c.profile.hostDeadSeconds;
    const plan = faultPlan(seed, 10_000, c.hosts.length);
    const table: ChaosTable = { injected: {}, violations: [], recovery: {} };
    const times: Record<string, number[]> = {};
    const vmId = c.vmId;
    const checkInvariants = async (after: string) => {
      const holders = await leaseHolders(c, vmId);
      if (holders.length > 1)
        table.violations.push({
          kind: "lease-twice",
          detail: `${after}: hosts ${holders.join(",")}`,
        });
      const wb = await c.readWhiteboard();
      for (const e of wb?.errors ?? []) {
        if (e.hostId >= 1 && e.hostId <= c.hosts.length)
          table.violations.push({
            kind: "segment-damaged",
            detail: `${after}: host${e.hostId} ${e.kind}`,
          });
      }
    };
    const t0 = c.elapsed();
    let i = 0;
    while (c.elapsed() - t0 < durationSeconds) {
      const f = plan[i++]!;
      const engine = c.engineHosts[0] ?? 1;
      const target = f.kind.startsWith("engine-") ? engine : f.pick;
      const h = c.host(target);
      phase(`fault ${i}: ${f.kind} on host${target}`);
      c.event(`chaos: ${f.kind} on host${target} (hold ${f.hold.toFixed(1)} s)`);
      table.injected[f.kind] = (table.injected[f.kind] ?? 0) + 1;
      switch (f.kind) {
        case "agent-kill9":
        case "engine-agent-kill9":
          if (h.agent) signalChild(h.agent, "SIGKILL");
          await sleep(f.hold);
          h.agent = undefined;
          await h.startAgent();
          break;
        case "agent-sigstop":
          if (h.agent) signalChild(h.agent, "SIGSTOP");
          await sleep(f.hold);
          if (h.agent) signalChild(h.agent, "SIGCONT");
          break;
        case "broker-sigstop":
        case "engine-broker-sigstop":
          if (h.broker) signalChild(h.broker, "SIGSTOP");
          await sleep(f.hold);
          if (h.broker) signalChild(h.broker, "SIGCONT");
          break;
        case "broker-kill9":
          if (h.broker) signalChild(h.broker, "SIGKILL");
          await sleep(f.hold);
          h.broker = undefined;
          await h.startBroker();
          break;
        case "storage-hang":
          // shorter than sanlock's renewal failure (8 × io_timeout): no kill path
          if (h.storageView) {
            await h.storageView.cutWrites("EIO");
            await sleep(Math.min(f.hold, 4 * c.profile.ioTimeout));
            await h.storageView.restore();
          }
          break;
        case "foreign-block": {
          // a corrupt block (version 1, garbage fields, no valid CRC) in the segment of
          // a host id nobody uses, then cleared. (Junk whose leading digits read as a
          // version above 1 is "too new", which stops every agent, as in the original.)
          const meta = c.storage?.volumes.metadata.path;
          if (meta) {
            const id = c.hosts.length + 1 + (i % 5);
            const fh = await open(meta, "r+");
            const junk = Buffer.alloc(SEGMENT_SIZE);
            for (let k = 0; k < SEGMENT_SIZE; k++) junk[k] = 32 + ((k * 31 + i) % 90);
            junk.write("1|1|", 0, "latin1");
            await fh.write(junk, 0, SEGMENT_SIZE, id * SEGMENT_SIZE);
            await sleep(f.hold);
            await fh.write(Buffer.alloc(SEGMENT_SIZE), 0, SEGMENT_SIZE, id * SEGMENT_SIZE);
            await fh.close();
          }
          break;
        }
        case "maintenance-race": {
          const other = (target % c.hosts.length) + 1;
          await Promise.all([
            c.host(target).heHa(["maintenance", "--mode", "global"]),
            c.host(other).heHa(["maintenance", "--mode", "none"]),
          ]);
          await sleep(f.hold);
          await c.host(other).heHa(["maintenance", "--mode", "none"]);
          break;
        }
        case "engine-vm-crash":
          await c.destroyVm(engine);
          break;
        case "sanlock-sigstop":
          // the last renewal is at most 2 × io_timeout old when the stop begins: a stop of
          // at most 4 × io_timeout ends before the renewal-failure time (8 × io_timeout),
          // so a real host survives it with no watchdog action
          h.sanlock?.signal("SIGSTOP");
          await sleep(Math.min(f.hold, 4 * c.profile.ioTimeout));
          h.sanlock?.signal("SIGCONT");
          break;
        case "sanlock-sigstop-long":
        case "sanlock-kill9":
        case "engine-sanlock-sigstop-long":
        case "engine-sanlock-kill9": {
          // stopped past the renewal-failure time or dead: a real host's watchdog resets
          // it; the campaign does so at the rule's moment (watchdogRule), checking the
          // other hosts' leases meanwhile
          const rule = watchdogRule(c.profile);
          const faultAt = c.elapsed();
          h.sanlock?.signal(f.kind.endsWith("kill9") ? "SIGKILL" : "SIGSTOP");
          for (;;) {
            const left = rule.resetAfter - (c.elapsed() - faultAt);
            if (left <= 0) break;
            // a look at every host's sanlock and the whiteboard takes seconds on a loaded
            // machine: none in the last ones, so the check itself never makes the reset late
            if (left > WATCHDOG_CHECK_MARGIN_S) await checkInvariants(`${f.kind} before the reset`);
            await sleep(Math.min(1, Math.max(0, rule.resetAfter - (c.elapsed() - faultAt))));
          }
          // the reset: everything of the host killed at once (its VM gone with libvirtd),
          // timed when it is complete, then the host boots
          await h.kill9();
          const at = c.elapsed() - faultAt;
          if (at >= rule.acquireEarliest)
            table.violations.push({
              kind: "watchdog-late",
              detail: `host${target} reset ${at.toFixed(1)} s after ${f.kind}, not before ${rule.acquireEarliest} s`,
            });
          c.event(
            `chaos: host${target} reset by the (modelled) watchdog ${at.toFixed(1)} s after ${f.kind}`,
          );
          await h.boot();
          await h.start();
          break;
        }
        case "libvirtd-sigstop":
          h.libvirtd?.signal("SIGSTOP");
          await sleep(f.hold);
          h.libvirtd?.signal("SIGCONT");
          break;
        case "libvirtd-kill9":
          await h.libvirtd?.crashAndRestart(LIBVIRTD_RESTART_SEC);
          break;
      }
      await checkInvariants(f.kind);
      const since = c.elapsed();
      try {
        await waitEngineUp(c, bound);
        const list = times[f.kind] ?? [];
        list.push(c.elapsed() - since);
        times[f.kind] = list;
      } catch (e) {
        table.violations.push({
          kind: "not-recovered",
          detail: `${f.kind}: ${(e as Error).message}`,
        });
        break;
      }
      await checkInvariants(`${f.kind} recovered`);
      // one agent loop between faults, so each meets a cluster that has seen the last
      await sleep(t.loop_delay);
    }
    for (const [k, v] of Object.entries(times)) {
      const s = [...v].sort((a, b) => a - b);
      table.recovery[k] = {
        median: s[Math.floor((s.length - 1) / 2)]!,
        max: s.at(-1)!,
        n: s.length,
      };
    }
    c.chaos = table;
    if (table.violations.length > 0)
      throw new Error(
        `chaos: ${table.violations.length} invariant violation(s): ${table.violations.map((v) => `${v.kind} (${v.detail})`).join("; ")}`,
      );
    const figures: ScenarioFigures = { faults: i };
    return figures;
  };
}
