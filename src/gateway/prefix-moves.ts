/** A device that its new device id would move from one topic prefix to another. */
export interface PrefixMove<T> {
  readonly device: T;
  readonly from: string;
  readonly to: string;
}

/** The moves that can be made, and those refused with the device that keeps the wanted prefix (or another device that wants it too). */
export interface PrefixMovePlan<T> {
  readonly accepted: readonly PrefixMove<T>[];
  readonly refused: readonly { readonly move: PrefixMove<T>; readonly holder: T }[];
}

/**
 * Which moves can be made at once, as a whole (SIGHUP with new profiles): a move may take a prefix
 * that another moving device leaves, so devices may swap ids; it is refused when a device that
 * stays holds the prefix, or when an earlier move takes it too. A refused device stays, so the move
 * into its prefix (at most one remains) is checked again: linear in the moves.
 */
export function planPrefixMoves<T>(held: ReadonlyMap<string, T>, moves: readonly PrefixMove<T>[]): PrefixMovePlan<T> {
  const refused = new Map<PrefixMove<T>, T>();
  /** The one move still wanted into each prefix; a later one into the same prefix is refused. */
  const into = new Map<string, PrefixMove<T>>();
  for (const move of moves) {
    const first = into.get(move.to);
    if (first) refused.set(move, first.device);
    else into.set(move.to, move);
  }
  const moving = new Map<T, PrefixMove<T>>();
  for (const move of into.values()) moving.set(move.device, move);
  const queue = [...into.values()];
  while (queue.length > 0) {
    const move = queue.pop() as PrefixMove<T>;
    if (refused.has(move)) continue;
    const holder = held.get(move.to);
    if (holder === undefined || holder === move.device || moving.has(holder)) continue;
    refused.set(move, holder);
    moving.delete(move.device);
    // This device now stays where it is: the move into its prefix, if any, is blocked by it.
    const blocked = into.get(move.from);
    if (blocked && !refused.has(blocked)) queue.push(blocked);
  }
  return { accepted: moves.filter((m) => !refused.has(m)), refused: [...refused].map(([move, holder]) => ({ move, holder })) };
}
