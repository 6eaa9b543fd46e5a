import { configDefaults, defineConfig } from "vitest/config";
import LongestFirstSequencer from "./test/support/sequencer.js";

/**
 * The fast core: pure decisions, codecs and parsers, and the cluster simulator. No root,
 * no build, no daemons, in seconds (`npm run test:fast`). Everything else is the
 * real-host integration suite (real sanlock, libvirtd, glusterd, O_DIRECT files, SMTP,
 * built binaries: `npm test` as root after `npm run setup`). A new test file lands in the
 * integration project unless it is listed here.
 */
export const FAST_TESTS = [
  "test/simulator/**/*.test.ts",
  "test/agent/collect-publish.test.ts",
  "test/agent/published-facts.test.ts",
  "test/agent/config-refresh.test.ts",
  "test/agent/engine-vm.test.ts",
  "test/agent/env.test.ts",
  "test/agent/fsm.test.ts",
  "test/agent/lease-holder.test.ts",
  "test/agent/liveness.test.ts",
  "test/agent/lockspace-membership.test.ts",
  "test/agent/monitor-table.test.ts",
  "test/broker/broker-state.test.ts",
  "test/broker/xmlrpc-codec.test.ts",
  "test/broker/xml-tree.test.ts",
  "test/cli/aliases.test.ts",
  "test/cli/format.test.ts",
  "test/cli/shared-config.test.ts",
  "test/cli/simulate.test.ts",
  "test/cli/summary.test.ts",
  "test/cluster/mail-sink.test.ts",
  "test/cluster/scenario-rules.test.ts",
  "test/common/keyvalue.test.ts",
  "test/doctor/checks.test.ts",
  "test/demo/live-insight.test.ts",
  "test/explain/explain.test.ts",
  "test/explain/local-facts.test.ts",
  "test/layout/build-stamp.test.ts",
  "test/layout/product-imports.test.ts",
  "test/ops/log-throttle.test.ts",
  "test/ops/log-line.test.ts",
  "test/broker/metrics-listener.test.ts",
  "test/cli/local-maintenance.test.ts",
  "test/score/score.test.ts",
  "test/storage/domain.test.ts",
  "test/common/domain-types.test.ts",
  "test/storage/engine-lease.test.ts",
  "test/storage/ovf.test.ts",
  "test/common/sector-geometry.test.ts",
  "test/storage/vmconf.test.ts",
  "test/storage/whiteboard-codec.test.ts",
  "test/vdsm/stomp-frame.test.ts",
  "test/whatif/from-live.test.ts",
  "test/bench/slope.test.ts",
  "test/broker/agent-wire.test.ts",
  "test/common/reread-file.test.ts",
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Three files at once on the 2-core CI machines: the long files spend their time
    // waiting on sanlock's bounds and the agents' timers, not on the CPU (a demo cluster
    // of 15 processes uses ~1/4 of a core), so a third worker shortens the suite by about
    // a third. HE_HA_TEST_WORKERS changes it (e.g. 1 to read a failure's output in order).
    maxWorkers: Number(process.env.HE_HA_TEST_WORKERS ?? 3),
    // the files that take minutes start first (test/support/sequencer.ts)
    sequence: { sequencer: LongestFirstSequencer },
    minWorkers: 1,
    reporters: ["default"],
    projects: [
      { extends: true, test: { name: "fast", include: FAST_TESTS } },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          // the tests start dist/'s binaries: refuse a build older than src/ or lab/
          globalSetup: ["test/support/global-setup.ts"],
          exclude: [...configDefaults.exclude, ...FAST_TESTS],
        },
      },
    ],
  },
});
