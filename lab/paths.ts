import { existsSync } from "node:fs";
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

/**
 * Path of a compiled executable (`dist/src/bin/<name>.js`). Works from the compiled demo
 * and from the TypeScript sources under test: both use the package's dist/ build.
 */
export function binPath(name: "ovirt-ha-broker" | "ovirt-ha-agent" | "he-ha"): string {
  const file = path.join(packageRoot(), "dist", "src", "bin", `${name}.js`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run "npm run build" first`);
  return file;
}

/** The demo's engine VM, described by a real engine OVF (a copy of the test fixture ovf_test.xml). */
export function engineOvf(): string {
  return labFile("demo", "engine.ovf");
}

/** Path of the lab's compiled entry (`dist/lab/bin/<name>.js`, e.g. the demo). */
export function labBinPath(name: "demo"): string {
  const file = path.join(packageRoot(), "dist", "lab", "bin", `${name}.js`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run "npm run build" first`);
  return file;
}
