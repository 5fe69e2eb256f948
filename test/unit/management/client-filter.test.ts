import { Device } from '../../../src/lwm2m/device/device';
import type { Registration } from '../../../src/lwm2m/registration/registration';
import { clientFilter, FilterError, parseTimestamp } from '../../../src/management/client-filter';

function device(endpoint: string, lifetime: number, registeredAt: number, address = '127.0.0.1'): Device<unknown> {
  const reg: Registration = {
    id: endpoint,
    endpoint,
    lifetime,
    lwm2mVersion: '1.1',
    binding: 'U',
    queueMode: false,
    query: {},
    alternatePath: '/',
    objectList: [],
    contentFormats: [],
    peer: { address, port: 5683 },
    registeredAt,
    lastUpdate: registeredAt,
  };
  return new Device<unknown>(reg);
}

describe('parseTimestamp', () => {
  it('takes epoch milliseconds and RFC 3339', () => {
    expect(parseTimestamp('gte_created_at', '1700000000000')).toBe(1700000000000);
    expect(parseTimestamp('gte_created_at', '2024-01-02T03:04:05Z')).toBe(Date.UTC(2024, 0, 2, 3, 4, 5));
    expect(parseTimestamp('gte_created_at', '2024-01-02T03:04:05.250+01:00')).toBe(Date.UTC(2024, 0, 2, 2, 4, 5, 250));
  });

  it('refuses anything else, naming the field', () => {
    for (const text of ['yesterday', '2024-01-02', '2024-13-02T00:00:00Z', '1e12', '-5', '12345678901234567890']) {
      expect(() => parseTimestamp('lte_created_at', text)).toThrow(FilterError);
      expect(() => parseTimestamp('lte_created_at', text)).toThrow(/querystring\/lte_created_at/);
    }
  });
});

describe('clientFilter', () => {
  const a = device('urn:imei:1', 60, 1000);
  const b = device('urn:imei:22', 300, 2000, '10.0.0.2');
  const names = (query: Parameters<typeof clientFilter>[0]) => [a, b].filter(clientFilter(query)).map((d) => d.endpoint);

  it('matches everything without filters', () => {
    expect(names({})).toEqual(['urn:imei:1', 'urn:imei:22']);
  });

  it('combines every given filter', () => {
    expect(names({ endpoint_name: 'urn:imei:1' })).toEqual(['urn:imei:1']);
    expect(names({ like_endpoint_name: 'imei:2' })).toEqual(['urn:imei:22']);
    expect(names({ ip_address: '10.0.0.2' })).toEqual(['urn:imei:22']);
    expect(names({ gte_lifetime: 61 })).toEqual(['urn:imei:22']);
    expect(names({ lte_lifetime: 60 })).toEqual(['urn:imei:1']);
    expect(names({ gte_created_at: '1500' })).toEqual(['urn:imei:22']);
    expect(names({ lte_created_at: new Date(1500).toISOString() })).toEqual(['urn:imei:1']);
    expect(names({ like_endpoint_name: 'urn', gte_lifetime: 100, ip_address: '127.0.0.1' })).toEqual([]);
  });
});
