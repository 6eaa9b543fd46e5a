import { readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runScenario } from "../../src/simulator/index.js";

/**
 * Every folder of scenarios/ runs in the simulator and its timeline must equal its
 * log.expect. After a deliberate change, regenerate with
 * `UPDATE_EXPECT=1 npx vitest run test/simulator/scenarios.test.ts` and read the diff.
 */
const ROOT = path.join(import.meta.dirname, "../../scenarios");
const UPDATE = process.env.UPDATE_EXPECT === "1";
const names = readdirSync(ROOT, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

describe("scenarios", () => {
  it("there are at least 30", () => {
    expect(names.length).toBeGreaterThanOrEqual(30);
  });

  for (const name of names) {
    it(name, async () => {
      const dir = path.join(ROOT, name);
      const run = await runScenario(dir);
      expect(run.violations).toEqual([]);
      if (UPDATE) {
        writeFileSync(path.join(dir, "log.expect"), run.log);
        return;
      }
      expect(
        run.scenario.expect,
        `${name}/log.expect is missing (UPDATE_EXPECT=1 writes it)`,
      ).not.toBeNull();
      expect(run.log).toBe(run.scenario.expect);
    });
  }
});
