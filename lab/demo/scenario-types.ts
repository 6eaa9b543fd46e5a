import type { DemoCluster } from "./cluster.js";

/**
 * A demo scenario's shape, shared by the scenarios, their steps and chaos: in a file of its
 * own so that none of those files imports another in a circle.
 */

export interface ScenarioFigures {
  [name: string]: number;
}

export type Scenario = (c: DemoCluster, phase: (p: string) => void) => Promise<ScenarioFigures>;
