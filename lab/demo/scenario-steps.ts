import type { DemoCluster } from "./cluster.js";
import { engineUpHost } from "./scenario-rules.js";
import type { Scenario } from "./scenario-types.js";

/** Steps the demo's scenarios share: waiting for states, the cold start. */

export const STARTING_STATES = new Set([
  "EngineStart",
  "EngineStarting",
  "EngineUp",
  "EngineUpBadHealth",
]);

/** Seconds a cold cluster may need to get the engine up: join + history + start + health. */
export function coldStartBudget(c: DemoCluster): number {
  const t = c.profile.timing;
  return 30 + 4 * t.host_alive_timeout + t.engine_starting_timeout;
}

/** Waits until exactly one host runs the engine VM and says EngineUp with good health. */
export async function waitEngineUp(
  c: DemoCluster,
  timeoutSeconds: number,
  notOn: number[] = [],
): Promise<number> {
  let host = 0;
  await c.waitFor(
    "the engine VM up with good health on exactly one host",
    async () => {
      const running = await c.sampleHypervisors();
      const up = engineUpHost(running, await c.states(), notOn);
      if (up === undefined) return false;
      host = up;
      return true;
    },
    timeoutSeconds,
  );
  return host;
}

/** Waits until every listed host publishes one of `states`. */
export async function waitStates(
  c: DemoCluster,
  hosts: number[],
  states: string[],
  timeoutSeconds: number,
): Promise<void> {
  await c.waitFor(
    `hosts ${hosts.join(",")} in ${states.join("/")}`,
    async () => {
      const st = await c.states();
      return hosts.every((h) => states.includes(st.get(h)?.state ?? ""));
    },
    timeoutSeconds,
  );
}

export const others = (c: DemoCluster, id: number) =>
  c.hosts.map((h) => h.id).filter((x) => x !== id);

export const startup: Scenario = async (c, phase) => {
  phase("cold start");
  const t0 = c.elapsed();
  await c.startAll();
  const host = await waitEngineUp(c, coldStartBudget(c));
  const up = c.elapsed() - t0;
  c.event(`engine up on host${host} after ${up.toFixed(1)}s`);
  phase("others settle");
  await waitStates(c, others(c, host), ["EngineDown"], 10 * c.profile.timing.loop_delay + 30);
  return { engine_up_seconds: up };
};
