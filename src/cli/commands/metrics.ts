import type { Command } from "commander";
import { group } from "../program.js";

export function register(program: Command): void {
  group(program, "metrics", "the broker's TCP metrics endpoint")
    .command("hash-password")
    .description(
      "read a password on stdin and print its hash for metrics_password_hash in hosted-engine.conf",
    )
    .action(async () => (await import("../actions/metrics-password.js")).hashPasswordFromStdin());
}
