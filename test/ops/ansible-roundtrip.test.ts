import { randomUUID } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DemoCluster } from "../../lab/demo/cluster.js";
import type { DemoHost } from "../../lab/demo/host.js";
import { findOutages, type Outage } from "../../lab/demo/run-tracker.js";
import {
  changeDisturbedEngine,
  engineUpHost,
  failoverBoundSeconds,
} from "../../lab/demo/scenario-rules.js";
import { pollFor, pollUntil } from "../../lab/standins/processes.js";
import { runTool } from "../support/run.js";
import { removeDir, tempDir } from "../support/temp.js";
import {
  daemonPid,
  HE_HA,
  playbook,
  running,
  SERVICES,
  services,
  standinRoleVars,
} from "./ansible-support.js";

/**
 * The round trip Python → ours → Python with the engine VM running: migrate.yml, then
 * rollback.yml, run by the real `ansible-playbook` against the demo's cluster (lab/demo:
 * per host a real sanlock daemon and a real libvirtd serving libvirt's test driver, in
 * which the demo's engine VM runs, with its lease held in sanlock; one shared file
 * storage domain made by `he-ha storage init`; the engine's health page). Throughout,
 * the demo's sampler looks at every host's libvirtd twice a second and its run tracker
 * every 100 ms; from the per-host run intervals the test takes the moments the VM ran
 * on two hosts and the spans it ran on none. Each phase must leave the engine VM never
 * on two hosts, down at most once and never longer than a normal failover (1.5 ×
 * sanlock's host-dead time + the engine start this cluster measured at its cold start),
 * every host's block live on the whiteboard and the engine up with good health.
 *
 * The same stand-ins as test/ops/ansible.test.ts: systemd is demo-service.sh, dnf is
 * standin-package.sh, and "the Python services" are this checkout's daemons under the
 * Python units' ExecStart (the original daemons need VDSM); the original's
 * `hosted-engine` CLI is played by he-ha. Global maintenance is set and cleared by the
 * playbooks themselves.
 */
let dir: string;
let cluster: DemoCluster;
let rpmFile: string;
/** a normal failover's bound, from this cluster's cold start */
let boundSeconds = 0;
/** where the engine VM ran when the round trip began */
let engineHost = 0;
const packageLog = () => path.join(dir, "packages.log");

function hostEnv(h: DemoHost): Record<string, string> {
  return { HE_HA_ROOT: h.root, SANLOCK_RUN_DIR: h.sanlockRunDir };
}

async function inventory(): Promise<string> {
  const doc = {
    he_hosts: {
      vars: standinRoleVars({ rpmFile, packageLog: packageLog() }),
      hosts: Object.fromEntries(
        cluster.hosts.map((h) => [
          h.name,
          {
            ansible_connection: "local",
            ansible_python_interpreter: "/usr/bin/python3",
            he_ha_root: h.root,
            he_ha_host_id: h.id,
            he_ha_environment: { SANLOCK_RUN_DIR: h.sanlockRunDir },
          },
        ]),
      ),
    },
  };
  const file = path.join(dir, `inventory-${randomUUID()}.json`);
  await writeFile(file, JSON.stringify(doc));
  return file;
}

/** the engine is up with good health on one host (its hypervisor and its published state) */
async function engineUp(): Promise<number | undefined> {
  return engineUpHost(cluster.engineHosts, await cluster.states());
}

/** every host's block live and not stopped in `he-ha status --json`, as every host reads it */
async function everyBlockLive(): Promise<void> {
  for (const viewer of cluster.hosts)
    await pollUntil(
      `every host's block live in ${viewer.name}'s he-ha status --json`,
      async () => {
        const r = await runTool(HE_HA[0]!, [...HE_HA.slice(1), "status", "--json"], {
          env: { ...process.env, ...hostEnv(viewer) },
        });
        if (r.code !== 0) return false;
        const s = JSON.parse(r.stdout) as Record<
          string,
          { "live-data"?: boolean; stopped?: boolean }
        >;
        return cluster.hosts.every((h) => s[h.id]?.["live-data"] === true && !s[h.id]?.stopped);
      },
      60_000,
      500,
    );
}

async function daemonLogTails(): Promise<string> {
  const out: string[] = [];
  for (const h of cluster.hosts)
    for (const s of SERVICES) {
      const text = await readFile(path.join(h.root, `${s}.log`), "utf8").catch(() => "");
      out.push(`--- ${h.name} ${s}`, ...text.trimEnd().split("\n").slice(-10));
    }
  return out.join("\n");
}

/**
 * Runs one playbook as a phase of the round trip and checks the engine across it: the
 * outages (no host running the VM) from the playbook's start until every block is live
 * again after it.
 */
async function phase(name: string): Promise<Outage[]> {
  const from = cluster.elapsed();
  const r = await playbook(dir, name, await inventory());
  expect(r.code, `${r.stdout.slice(-4000)}\n${await daemonLogTails()}`).toBe(0);
  await everyBlockLive();
  const host = await pollFor("the engine up with good health", engineUp, 60_000, 500);
  const to = cluster.elapsed();
  const outages = findOutages(cluster.runs.intervals, from, to);
  const longest = Math.max(0, ...outages.map((o) => o.to - o.from));
  console.info(
    `${name}: ${(to - from).toFixed(1)} s, engine VM outages ${outages.length}, longest ${longest.toFixed(1)} s (bound ${boundSeconds.toFixed(1)} s), ${cluster.sampleCount} hypervisor samples so far`,
  );
  expect(
    changeDisturbedEngine({ overlaps: cluster.runs.overlaps(to), outages, boundSeconds }),
  ).toBeUndefined();
  expect(cluster.doubleRuns).toEqual([]);
  // global maintenance kept every agent's hands off the VM: it never moved
  expect(host).toBe(engineHost);
  return outages;
}

describe("migrate.yml and rollback.yml with the engine VM running (the demo's cluster)", () => {
  beforeAll(async () => {
    dir = await tempDir("roundtrip");
    rpmFile = path.join(dir, "hosted-engine-ha-roundtrip.x86_64.rpm");
    await writeFile(rpmFile, `stand-in package file ${randomUUID()}\n`);
    cluster = await DemoCluster.create({
      hosts: 2,
      storage: "local",
      baseDir: path.join(dir, "cluster"),
    });
    // where the playbook copies the RPM (/var/tmp exists on every host)
    for (const h of cluster.hosts) await mkdir(path.join(h.root, "var/tmp"), { recursive: true });
    // the Python services (stand-ins: see above) as systemd starts them at boot
    const started = cluster.elapsed();
    for (const h of cluster.hosts) await services("start", hostEnv(h));
    engineHost = await pollFor(
      "the engine up with good health (cold start)",
      engineUp,
      120_000,
      500,
    );
    boundSeconds = failoverBoundSeconds(
      cluster.profile.hostDeadSeconds,
      cluster.elapsed() - started,
    );
    await everyBlockLive();
  }, 240_000);

  afterAll(async () => {
    // the daemons the playbooks started, by the pids the service stand-in recorded
    for (const h of cluster?.hosts ?? [])
      if ((await Promise.all(SERVICES.map((s) => daemonPid(h.root, s)))).some(Boolean))
        await services("stop", hostEnv(h)).catch(() => undefined);
    await cluster?.teardown();
    if (dir) await removeDir(dir);
  }, 120_000);

  it("migrate.yml (Python → ours, host by host) keeps the engine VM running on its host: never twice, no outage longer than a failover, every block live", async () => {
    await phase("migrate.yml");
    for (const h of cluster.hosts) expect(await running(h.root)).toEqual(["ours", "ours"]);
    expect((await readFile(packageLog(), "utf8")).trim().split("\n")).toEqual(
      cluster.hosts.map((h) => `install ${h.root}`),
    );
  }, 300_000);

  it("rollback.yml (ours → Python) completes the round trip with the same engine VM, never twice, no outage longer than a failover, every block live", async () => {
    await phase("rollback.yml");
    for (const h of cluster.hosts) expect(await running(h.root)).toEqual(["python", "python"]);
    expect((await readFile(packageLog(), "utf8")).trim().split("\n").slice(-2)).toEqual(
      cluster.hosts.map((h) => `remove ${h.root}`),
    );
    // the other host is ready to take the engine over, as before the round trip
    const states = await cluster.states();
    for (const h of cluster.hosts.filter((x) => x.id !== engineHost)) {
      expect(states.get(h.id)?.state).toBe("EngineDown");
      expect(states.get(h.id)?.score).toBeGreaterThan(0);
    }
  }, 300_000);
});
