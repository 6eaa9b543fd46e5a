import { expect } from "vitest";
import { type DemoOptions, runDemo, summary } from "../../lab/demo/run.js";

/**
 * Runs one of the demo's scenarios as an integration test: a real GlusterFS volume every
 * host's agent mounts itself (or, with `storage: "local"`, a plain directory seen through
 * per-host FUSE views), real sanlock daemons, libvirtd (test driver) per host in its own
 * mount namespace, brokers and agents as separate processes, on the demo's scaled timing
 * profile. Every scenario samples every hypervisor twice a second and fails if the engine
 * VM ever runs on two hosts at once. Needs `npm run build` (the daemons run from dist/)
 * and root; `npm test` does both.
 */
export async function demoScenario(
  name: string,
  hosts = 3,
  storage: DemoOptions["storage"] = "gluster",
) {
  const r = await runDemo({ hosts, scenario: name, json: true, live: false, storage });
  if (!r.ok) console.error(summary(r), r.timeline.join("\n"));
  expect(r.error).toBeUndefined();
  expect(r.ok).toBe(true);
  expect(r.doubleRuns).toEqual([]);
  expect(r.hypervisorSamples).toBeGreaterThan(10);
  return r;
}
