import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Real sanlock daemons and libvirtd instances are heavy: keep parallelism modest
    // on the 2-core CI machines.
    maxWorkers: 2,
    minWorkers: 1,
    reporters: ["default"],
  },
});
