/** Replay from a topic's retained history: shared by the buses that number a topic without holes. */

import type { BusHistory, BusMessage, BusPosition } from "./topics.ts";

/**
 * The retained messages after `after`, and whether they are all there: a
 * pure function shared by the buses that number a topic without holes.
 *
 * @param retained The topic's retained messages of `epoch`, in order.
 * @param head The topic's last sequence in `epoch` (0 for none).
 * @param epoch The topic's current epoch.
 * @param after The reader's position.
 */
export function historyAfter(
  retained: readonly BusMessage[],
  head: number,
  epoch: string,
  after: BusPosition,
): BusHistory {
  if (after.epoch !== epoch || after.seq > head) {
    // Another history: everything of this one is new to the reader, and
    // what it missed of its own is gone.
    return { messages: [...retained], complete: false, epoch };
  }
  const messages = retained.filter((m) => m.seq > after.seq);
  const first = messages[0]?.seq ?? head + 1;
  return { messages, complete: first === after.seq + 1, epoch };
}
