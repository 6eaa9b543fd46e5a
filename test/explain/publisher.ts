import { writeSegment } from "../support/whiteboard.js";
import { type AgentView, agentBlock } from "./agent-blocks.js";

/**
 * Hosts that keep publishing on a real whiteboard file, as their agents would: every
 * `everyMs` each host not silenced writes its block (agentBlock) with a new timestamp.
 * `silence(id)` stops one host's writes (its agent died); `stop()` ends all.
 */
export interface Publisher {
  silence(id: number): void;
  stop(): Promise<void>;
}

export function startPublishing(
  metadataFile: string,
  views: readonly AgentView[],
  everyMs = 250,
): Publisher {
  const silenced = new Set<number>();
  let tick = 1000;
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    tick += 1;
    const at = tick;
    running = running.then(async () => {
      for (const v of views) {
        if (!silenced.has(v.id)) await writeSegment(metadataFile, v.id, agentBlock(v, at).bytes);
      }
    });
  }, everyMs);
  return {
    silence: (id) => silenced.add(id),
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
