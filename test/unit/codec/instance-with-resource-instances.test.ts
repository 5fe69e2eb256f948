import { buildNode, decodeEntries, encodeNode } from '../../../src/lwm2m/codec';
import { ContentFormat } from '../../../src/lwm2m/codec/content-format';
import { ObjectModel } from '../../../src/lwm2m/model/object-model';
import type { Entry } from '../../../src/lwm2m/node';
import { parsePath } from '../../../src/lwm2m/path';

// A write of /3/0 whose content holds single resources and instances of multiple resources
// (/3/0/6/0, /3/0/7/1): what a read of an instance returns, written back (issue 10, item 3.1).
const model = ObjectModel.withBuiltins();
const path = parsePath('/3/0');
const entries: Entry[] = [
  { path: '/3/0/14', type: 'string', value: '+02:00' },
  { path: '/3/0/6/0', type: 'integer', value: 1 },
  { path: '/3/0/6/1', type: 'integer', value: 5 },
  { path: '/3/0/7/0', type: 'integer', value: 3800 },
  { path: '/3/0/7/1', type: 'integer', value: 5000 },
  { path: '/3/0/13', type: 'time', value: 1367491215 },
];
const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('an instance node with multiple resources, in every write format', () => {
  const node = buildNode(path, entries);

  it.each([
    ['TLV', ContentFormat.TLV],
    ['OMA JSON', ContentFormat.OMA_JSON],
    ['SenML JSON', ContentFormat.SENML_JSON],
    ['SenML CBOR', ContentFormat.SENML_CBOR],
    ['LwM2M CBOR', ContentFormat.LWM2M_CBOR],
  ])('%s round-trips every single value and resource instance', (_name, format) => {
    const payload = encodeNode(format, path, node, model);
    const decoded = decodeEntries(format, payload, path, model).map(({ path: p, value }) => ({ path: p, value }));
    expect(decoded).toEqual(expect.arrayContaining(entries.map(({ path: p, value }) => ({ path: p, value }))));
    expect(decoded).toHaveLength(entries.length);
  });

  it('TLV: a multiple-resource TLV holding resource-instance TLVs, resources bare at /O/I', () => {
    const payload = encodeNode(ContentFormat.TLV, path, buildNode(path, entries.slice(1, 3)), model);
    // 0x86: multiple resource, 8-bit id (06), length 6 in the type byte; then two resource
    // instances, 0x41: 8-bit id, length 1 (00 → 01, 01 → 05)
    expect(payload).toEqual(hex('86 06 41 00 01 41 01 05'));
  });

  it('SenML JSON: names /O/I/R/RI relative to bn /O/I/', () => {
    const payload = encodeNode(ContentFormat.SENML_JSON, path, buildNode(path, entries.slice(0, 3)), model);
    expect(JSON.parse(payload.toString())).toEqual([
      { bn: '/3/0/', n: '14', vs: '+02:00' },
      { n: '6/0', v: 1 },
      { n: '6/1', v: 5 },
    ]);
  });

  it('LwM2M CBOR: the instances nested under their resource', () => {
    const payload = encodeNode(ContentFormat.LWM2M_CBOR, path, buildNode(path, entries.slice(1, 3)), model);
    // {3: {0: {6: {0: 1, 1: 5}}}}
    expect(payload).toEqual(hex('a1 03 a1 00 a1 06 a2 00 01 01 05'));
  });
});
