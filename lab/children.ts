import { existsSync } from "node:fs";
import path from "node:path";
import { packageRoot } from "../src/common/package-root.js";

/**
 * How the tests, the benchmarks and the demo start a child node process: one rule.
 *
 * - A product binary (ovirt-ha-broker, ovirt-ha-agent, he-ha) and a lab program (the demo,
 *   slowloris) always run compiled, from dist/: `node dist/src/bin/<name>.js`. Starting
 *   through tsx costs ~0.4 s per child; the integration project's global setup
 *   (test/support/global-setup.ts) refuses to run when a file of src/ or lab/ is newer than
 *   dist's build stamp, so dist/ is what the sources say.
 * - A test-only helper script (a file of test/, or one a test writes) runs from its
 *   TypeScript source through tsx.
 *
 * Each function returns the arguments after `process.execPath`.
 */
export type ProductBin = "ovirt-ha-broker" | "ovirt-ha-agent" | "he-ha";

/** A file of the build (`dist/<relative>`); throws, naming it, when it was never built. */
export function distFile(relative: string): string {
  const file = path.join(packageRoot(), "dist", relative);
  if (!existsSync(file)) throw new Error(`${file} is missing: run "npm run build" first`);
  return file;
}

/** The compiled product binary `dist/src/bin/<name>.js`. */
export function productBin(name: ProductBin): string {
  return distFile(`src/bin/${name}.js`);
}

/** node arguments that start a product binary with `args`. */
export function productArgs(name: ProductBin, ...args: string[]): string[] {
  return [productBin(name), ...args];
}

/** node arguments that start the compiled lab program `dist/lab/<program>.js` (e.g. "bin/demo"). */
export function labArgs(program: string, ...args: string[]): string[] {
  return [distFile(`lab/${program}.js`), ...args];
}

/** node arguments that run a test-only TypeScript script (`file`, absolute) through tsx. */
export function scriptArgs(file: string, ...args: string[]): string[] {
  return ["--import", "tsx", file, ...args];
}
