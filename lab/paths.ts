import path from "node:path";
import { packageRoot } from "../src/common/package-root.js";

/**
 * A file of the lab (`lab/<parts>`) in this checkout. The lab runs from its sources (tests,
 * through vitest) and from dist/lab (the demo): both find it at the package root, so
 * nothing guesses how many `../` lead back from dist/.
 */
export function labFile(...parts: string[]): string {
  return path.join(packageRoot(), "lab", ...parts);
}

/** The demo's engine VM, described by a real engine OVF (a copy of the test fixture ovf_test.xml). */
export function engineOvf(): string {
  return labFile("demo", "engine.ovf");
}
