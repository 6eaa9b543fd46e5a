import { writeSegment } from "../support/whiteboard.js";
import { type AgentView, agentBlock } from "./agent-blocks.js";

/**
 * Hosts that keep publishing on a real whiteboard file, as their agents would: every
 * `everyMs` each host not silenced writes its block (agentBlock) with a new timestamp.
 * `silence(id)` stops one host's writes (its agent died); `stop()` ends all.
 */
export interface Publisher {
  silence(id: number): void;
  /** another host starts publishing */
  add(view: AgentView): void;
  stop(): Promise<void>;
}

export function startPublishing(
  metadataFile: string,
  views: readonly AgentView[],
  everyMs = 250,
): Publisher {
  const list = [...views];
  const silenced = new Set<number>();
  let tick = 1000;
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    tick += 1;
    const at = tick;
    running = running.then(async () => {
      for (const v of list) {
        if (silenced.has(v.id)) continue;
        // the block's wall time is this machine's clock (plus the view's clockOffset)
        const block = agentBlock(v, at, Math.trunc(Date.now() / 1000) - at);
        await writeSegment(metadataFile, v.id, block.bytes);
      }
    });
  }, everyMs);
  return {
    silence: (id) => silenced.add(id),
    add: (view) => list.push(view),
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
