import { InFlightLimit } from '../../../src/limits/in-flight-limit';

describe('InFlightLimit', () => {
  it('bounds slots in total and per source, and gives them back', () => {
    const limit = new InFlightLimit(3, 2);
    expect(limit.enter('a')).toBeUndefined();
    expect(limit.enter('a')).toBeUndefined();
    expect(limit.enter('a')).toBe('source');
    expect(limit.enter('b')).toBeUndefined();
    expect(limit.enter('c')).toBe('total');
    expect(limit.inFlight).toBe(3);
    limit.leave('a');
    expect(limit.enter('c')).toBeUndefined();
    expect(limit.enter('a')).toBe('total');
    limit.leave('b');
    expect(limit.enter('a')).toBeUndefined();
    expect(limit.inFlight).toBe(3);
  });

  it('forgets a source once its last slot is back (the table holds only sources in flight)', () => {
    const limit = new InFlightLimit(10, 1);
    for (let i = 0; i < 5; i++) expect(limit.enter(`s${i}`)).toBeUndefined();
    for (let i = 0; i < 5; i++) limit.leave(`s${i}`);
    expect(limit.inFlight).toBe(0);
    expect((limit as unknown as { bySource: Map<string, number> }).bySource.size).toBe(0);
  });
});
