import { describe, expect, it } from "vitest";
import { LockspaceMembership } from "../../src/agent/lockspace-membership.js";
import type { LockspacePort } from "../../src/agent/ports.js";
import { silentLogger } from "../../src/common/log.js";
import { LockspaceIdConflictError } from "../../src/sanlock/errors.js";
import type { LockspaceSpec } from "../../src/sanlock/lockspace.js";

const spec = (name: string): LockspaceSpec => ({
  name,
  hostId: 1,
  path: `/sd/${name}`,
  offset: 0,
  ioTimeout: 10,
});
const HE = spec("hosted-engine");
const SD = spec("sd-uuid");

/** sanlock's lockspaces of one host: who is in, and what each call did */
function sanlock(preJoined: string[] = []) {
  const joined = new Set(preJoined);
  const calls: string[] = [];
  let failJoin: string | null = null;
  let conflict: string | null = null;
  const port: LockspacePort = {
    async addLockspace(s) {
      calls.push(`add ${s.name}`);
      if (conflict === s.name) throw new LockspaceIdConflictError(s.name, 2, s.path);
      if (failJoin === s.name) throw new Error("I/O error");
      if (joined.has(s.name)) return "already-joined";
      joined.add(s.name);
      return "joined";
    },
    async inqLockspace(s) {
      return joined.has(s.name);
    },
    async remLockspace(s) {
      calls.push(`rem ${s.name}`);
      return joined.delete(s.name) ? "left" : "not-joined";
    },
  };
  return {
    port,
    joined,
    calls,
    failJoin: (n: string | null) => {
      failJoin = n;
    },
    conflict: (n: string) => {
      conflict = n;
    },
  };
}

describe("LockspaceMembership", () => {
  it("joins hosted-engine then the storage domain's, and leaves them in reverse order", async () => {
    const s = sanlock();
    const m = new LockspaceMembership(s.port, [HE, SD], silentLogger);
    expect(await m.join()).toBe(true);
    expect(m.held).toBe(true);
    await m.leave();
    expect(s.calls).toEqual([
      "add hosted-engine",
      "add sd-uuid",
      "rem sd-uuid",
      "rem hosted-engine",
    ]);
    expect(m.held).toBe(false);
  });

  it("never leaves a lockspace someone else joined (VDSM's storage domain lockspace)", async () => {
    const s = sanlock(["sd-uuid"]);
    const m = new LockspaceMembership(s.port, [HE, SD], silentLogger);
    expect(await m.join()).toBe(true);
    await m.leave();
    expect([...s.joined]).toEqual(["sd-uuid"]);
    expect(s.calls).not.toContain("rem sd-uuid");
  });

  it("a join that fails is retried later; a lost lockspace is rejoined by check", async () => {
    const s = sanlock();
    const m = new LockspaceMembership(s.port, [HE, SD], silentLogger);
    s.failJoin("sd-uuid");
    expect(await m.join()).toBe(false);
    expect(m.held).toBe(false);
    s.failJoin(null);
    expect(await m.join()).toBe(true);
    s.joined.delete("hosted-engine"); // sanlock dropped it (storage lost)
    expect(await m.check()).toBe(true);
    expect(s.joined.has("hosted-engine")).toBe(true);
    s.joined.delete("sd-uuid");
    s.failJoin("sd-uuid");
    expect(await m.check()).toBe(false);
    expect(m.held).toBe(false);
  });

  it("another host id held by sanlock is not retried: the error goes to the daemon", async () => {
    const s = sanlock();
    s.conflict("hosted-engine");
    const m = new LockspaceMembership(s.port, [HE, SD], silentLogger);
    await expect(m.join()).rejects.toBeInstanceOf(LockspaceIdConflictError);
  });
});
