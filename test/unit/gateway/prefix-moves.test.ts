import { planPrefixMoves, type PrefixMove } from '../../../src/gateway/prefix-moves';

const held = (entries: [string, string][]) => new Map(entries);
const names = (moves: readonly PrefixMove<string>[]) => moves.map((m) => m.device).sort();

describe('planPrefixMoves', () => {
  it('lets devices swap prefixes and take one another leaves', () => {
    const swap = planPrefixMoves(held([['a/', 'A'], ['b/', 'B']]), [
      { device: 'A', from: 'a/', to: 'b/' },
      { device: 'B', from: 'b/', to: 'a/' },
    ]);
    expect(names(swap.accepted)).toEqual(['A', 'B']);
    const chain = planPrefixMoves(held([['one/', 'X'], ['two/', 'Y']]), [
      { device: 'X', from: 'one/', to: 'two/' },
      { device: 'Y', from: 'two/', to: 'three/' },
    ]);
    expect(names(chain.accepted)).toEqual(['X', 'Y']);
  });

  it('refuses a prefix a staying device holds, and a prefix two moves want; a refusal blocks the move into the refused device prefix', () => {
    const plan = planPrefixMoves(held([['s/', 'S'], ['a/', 'A'], ['b/', 'B'], ['c/', 'C']]), [
      { device: 'C', from: 'c/', to: 'b/' }, // into B's prefix: B is blocked, so C is too
      { device: 'B', from: 'b/', to: 's/' }, // S stays
      { device: 'A', from: 'a/', to: 'n/' },
      { device: 'D', from: 'd/', to: 'n/' }, // n/ is A's already
    ]);
    expect(names(plan.accepted)).toEqual(['A']);
    expect(plan.refused.map((r) => [r.move.device, r.holder]).sort()).toEqual([
      ['B', 'S'],
      ['C', 'B'],
      ['D', 'A'],
    ]);
  });

  it('is linear: 100 000 moves in a chain that the last one blocks', () => {
    const n = 100_000;
    const map = new Map<string, number>();
    const moves: PrefixMove<number>[] = [];
    for (let i = 0; i < n; i++) {
      map.set(`p${i}/`, i);
      moves.push({ device: i, from: `p${i}/`, to: `p${i + 1}/` });
    }
    map.set(`p${n}/`, -1); // a device that stays at the end of the chain
    const plan = planPrefixMoves(map, moves);
    expect(plan.accepted).toHaveLength(0);
    expect(plan.refused).toHaveLength(n);
  });
});
