import { describe, expect, it } from "vitest";
import { vmListHas } from "../../src/cli/actions/local-maintenance.js";

/** The decision of set_maintenance.py's check (pure): is the engine VM in VDSM's Host.getVMList answer? */
describe("local maintenance: the engine VM in VDSM's VM list", () => {
  const engine = "7d3c1f00-0000-4000-8000-0000000000e1";
  it("finds it by vmId among ShortStatus entries, whatever their status, or among plain uuids", () => {
    expect(vmListHas([{ vmId: engine, status: "Up" }], engine)).toBe(true);
    expect(vmListHas([{ vmId: "other" }, { vmId: engine, status: "Down" }], engine)).toBe(true);
    expect(vmListHas([engine], engine)).toBe(true);
  });
  it("is false for an empty list or other VMs only", () => {
    expect(vmListHas([], engine)).toBe(false);
    expect(
      vmListHas([{ vmId: "0b7a2f6e-0000-4000-8000-00000000beef", status: "Up" }], engine),
    ).toBe(false);
  });
});
