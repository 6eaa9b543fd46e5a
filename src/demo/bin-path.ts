import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Path of a compiled executable (`dist/src/bin/<name>.js`). Works from the compiled demo
 * (dist/src/demo) and from the TypeScript sources under test (src/demo): both find the
 * package root and use its dist/ build.
 */
export function binPath(name: "ovirt-ha-broker" | "ovirt-ha-agent" | "he-ha"): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "package.json"))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the package root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  const file = path.join(dir, "dist", "src", "bin", `${name}.js`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run "npm run build" first`);
  return file;
}
