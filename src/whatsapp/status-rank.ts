/**
 * Message status precedence: queued < sent < delivered < read < played; failed is
 * final. `messages.status_rank` holds the rank so a status moves forward with one
 * compare-and-set (`UPDATE … WHERE status_rank < $rank`).
 */
export const STATUS_RANK: Readonly<Record<string, number>> = {
  received: 0,
  queued: 0,
  sent: 1,
  delivered: 2,
  read: 3,
  played: 4,
  failed: 100,
};

/** Rank of a status Meta sent (unknown statuses rank -1 and are only recorded). */
export function statusRank(status: string): number {
  return STATUS_RANK[status] ?? -1;
}
