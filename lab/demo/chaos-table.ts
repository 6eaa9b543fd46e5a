/** What a chaos run injected, the invariants it saw broken, and the recovery times. */
export interface ChaosTable {
  injected: Record<string, number>;
  violations: { kind: string; detail: string }[];
  recovery: Record<string, { median: number; max: number; n: number }>;
}
