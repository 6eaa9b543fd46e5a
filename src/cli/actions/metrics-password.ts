import { hashPassword } from "../../common/password-hash.js";
import { UsageError } from "../errors.js";

/**
 * `he-ha metrics hash-password`: the password comes on stdin (never on the command line,
 * where ps and the shell history would keep it); one trailing newline is dropped.
 */
export async function hashPasswordFromStdin(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const password = Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
  if (password === "") throw new UsageError("no password on stdin");
  process.stdout.write(`${await hashPassword(password)}\n`);
}
