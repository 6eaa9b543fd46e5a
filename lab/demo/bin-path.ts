import { existsSync } from "node:fs";
import path from "node:path";
import { packageRoot } from "../../src/common/package-root.js";

/**
 * Path of a compiled executable (`dist/src/bin/<name>.js`). Works from the compiled demo
 * and from the TypeScript sources under test: both use the package's dist/ build.
 */
export function binPath(name: "ovirt-ha-broker" | "ovirt-ha-agent" | "he-ha"): string {
  const file = path.join(packageRoot(), "dist", "src", "bin", `${name}.js`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run "npm run build" first`);
  return file;
}

/** The real engine OVFs kept as test data (the demo's engine VM is described by one). */
export function fixtureOvf(name = "ovf_test.xml"): string {
  return path.join(packageRoot(), "test", "fixtures", "ovf", name);
}
