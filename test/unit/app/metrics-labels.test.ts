import { Registry } from 'prom-client';
import { msgTypeLabel, resultLabel } from '../../../src/app/metrics/command-metrics';
import { createGatewayMetrics } from '../../../src/app/metrics/gateway-metrics';
import { counterReadAtScrape, gaugeReadAtScrape } from '../../../src/app/metrics/read-at-scrape';

describe('command labels', () => {
  it('keeps the msgTypes the engine answers and maps anything else to "other"', () => {
    expect(msgTypeLabel('read')).toBe('read');
    expect(msgTypeLabel('cancel-observe-composite')).toBe('cancel-observe-composite');
    expect(msgTypeLabel('x'.repeat(1000))).toBe('other');
    expect(msgTypeLabel('__proto__')).toBe('other');
  });

  it('keeps known response codes and outcomes, maps codes a device made up to "other"', () => {
    for (const result of ['2.05', '4.04', '5.03', 'ack', 'coap_timeout', 'coap_reset', 'expired', 'deregistered']) expect(resultLabel(result)).toBe(result);
    expect(resultLabel('2.31')).toBe('2.31');
    expect(resultLabel('2.17')).toBe('other');
    expect(resultLabel('7.31')).toBe('other');
  });
});

describe('metrics read at scrape time', () => {
  it('report the current value of the source at each scrape, not a sum of scrapes', async () => {
    const registry = new Registry();
    const source = { sent: 3, open: 2 };
    counterReadAtScrape({ registry, name: 'test_sent_total', help: 'sent', labelNames: ['listener'], read: (sink) => sink({ listener: 'udp' }, source.sent) });
    gaugeReadAtScrape({ registry, name: 'test_open', help: 'open', labelNames: ['listener'], read: (sink) => (source.open > 0 ? sink({ listener: 'udp' }, source.open) : undefined) });
    expect(await registry.metrics()).toContain('test_sent_total{listener="udp"} 3\n');
    const again = await registry.metrics();
    expect(again).toContain('test_sent_total{listener="udp"} 3\n');
    expect(again).toContain('test_open{listener="udp"} 2\n');
    source.sent = 10;
    source.open = 0;
    const text = await registry.metrics();
    expect(text).toContain('test_sent_total{listener="udp"} 10\n');
    // A series the source no longer reports is gone.
    expect(text).not.toContain('test_open{');
  });
});

describe('createGatewayMetrics', () => {
  it('without sources serves Node default metrics only, in the text exposition format', async () => {
    const metrics = createGatewayMetrics({});
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    expect(text).toContain('# TYPE process_cpu_seconds_total counter');
    expect(text).not.toContain('lwm2m_');
  });
});
