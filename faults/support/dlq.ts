// Reading a whole DLQ topic through the queue's own inspect API.
import type { DlqRow, Queue } from "@/server/queue";

/** Every row of a DLQ topic, newest first, paged the way the console pages it. */
export async function allDeadLetters(queue: Queue, topic: string): Promise<DlqRow[]> {
  const out: DlqRow[] = [];
  let before: number | undefined;
  for (;;) {
    const page = await queue.inspect.listDlq({ topic }, { before, limit: 500 });
    out.push(...page.rows);
    if (page.next === null) return out;
    before = page.next;
  }
}
