import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * The files that take minutes (a demo cluster per scenario, sanlock's 68 s host-dead
 * bound, ansible-playbook runs), longest first, as measured in a full run (seconds on
 * 2 cores, 2026-12-07). They start first: vitest's own order on a clean clone (no
 * cache of durations, e.g. CI) is the largest *file* first, which put the longest test
 * file, a small one, last and made the suite's wall time its tail. With them first, two
 * workers end within a few small files of each other. Refresh from a full run with
 * `node scripts/test-durations.mjs`; a file missing here only runs in vitest's order.
 */
export const LONG_TEST_FILES: readonly string[] = [
  "test/cluster/block-storage.test.ts", // ~330 s (measured alone, 2026-12-08)
  "test/cluster/failover-scenarios.test.ts", // ~270 s
  "test/ops/ansible.test.ts", // ~240 s
  "test/ops/ansible-roundtrip.test.ts", // ~230 s alone (2026-12-08), not yet in a full run
  "test/cluster/engine-scenarios.test.ts", // ~185 s
  "test/cluster/maintenance-scenarios.test.ts", // ~125 s
  "test/cluster/chaos.test.ts", // ~125 s
  "test/cluster/storage-scenarios.test.ts", // ~125 s
  "test/standins/storage-view-sanlock.test.ts", // ~125 s
  "test/agent/daemon-two-hosts.test.ts", // ~100 s
  "test/agent/daemon.test.ts", // ~95 s
  "test/agent/python-host.test.ts", // ~90 s
  "test/agent/daemon-lock-manager.test.ts", // ~85 s
  "test/sanlock/vm-lease.test.ts", // ~80 s
  "test/vdsm/agent-vdsm.test.ts", // ~75 s
];

const rank = (spec: TestSpecification, root: string): number => {
  const i = LONG_TEST_FILES.indexOf(spec.moduleId.slice(root.length + 1));
  return i < 0 ? LONG_TEST_FILES.length : i;
};

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const sorted = await super.sort(files);
    // Array.prototype.sort is stable: the rest keep vitest's order
    return sorted.sort((a, b) => rank(a, root) - rank(b, root));
  }
}
