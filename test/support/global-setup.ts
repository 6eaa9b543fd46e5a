import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildProblem } from "./build-stamp.js";

/**
 * Global setup of the integration project: the tests start the product binaries from
 * dist/ (lab/children.ts), so they stop at once when dist/ is missing or older than a
 * file of src/ or lab/ (`npm test` builds first; a single file run after an edit needs
 * `npm run build`).
 */
export default async function setup(): Promise<void> {
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
  const problem = await buildProblem(repo);
  if (problem) throw new Error(problem);
}
