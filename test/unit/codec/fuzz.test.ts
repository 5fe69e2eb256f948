import type { ModelLookup, ResourceType } from '../../../src/lwm2m/model/types';
import { parsePath, type LwM2mPath } from '../../../src/lwm2m/path';
import { CodecError, ContentFormat, decodeEntries, decodeNode, encodeNode, parseLinkFormat } from '../../../src/lwm2m/codec';
import { seededRandom as random } from '../../support/seeded-random';

/*
 * Random and mutated payloads into every decoder: a decoder may succeed or throw CodecError,
 * nothing else (no RangeError from a Buffer read, no SyntaxError, no TypeError).
 */

const TYPES: Record<number, ResourceType> = {
  0: 'string', 1: 'integer', 2: 'unsigned', 3: 'float', 4: 'boolean', 5: 'objlnk', 6: 'opaque', 7: 'time', 8: 'corelnk', 9: 'none',
};
/** Every object: resource r has type TYPES[r % 10]; odd resources are multiple. */
const model: ModelLookup = {
  resourceDefinition(objectId, resourceId) {
    if (objectId === 9999) return undefined;
    return { id: resourceId, name: 'r', operations: 'RW', multiple: resourceId % 2 === 1, mandatory: false, type: TYPES[resourceId % 10] };
  },
};


const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const TLV_SEEDS = [
  hex('080079C800144F70656E204D6F62696C6520416C6C69616E6365C801164C69676874776569676874204D324D20436C69656E74C80209333435303030313233C303312E30860641000141010588070842000ED842011388870841007D42010384C10964C10A0F830B410000C40D5182428FC60E2B30323A3030C11055'),
  hex('08000EC10001C101008302417F07C1037F080212C10003C101008702417F0761013601C1037F'),
  hex('08000FC10001C40100015180C10601C10755'),
  hex('88000C440000420000440100420001C8010D38363133383030373535353030C40212345678'),
  hex('C8 03 08 3F B9 99 99 99 99 99 9A C1 04 01 C4 05 00 42 00 01'),
];
const JSON_SEEDS = [
  '{"bn":"/3/0/","e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"7/0","v":3800},{"n":"4","bv":true},{"n":"5","ov":"3:0"},{"n":"13","v":1367491215,"t":-5}],"bt":25462634}',
  '{"e":[{"n":"1/2","v":22.4,"t":-5},{"n":"1/2","v":22.9,"t":-30}],"bt":25462634}',
  '[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"7/0","v":3800},{"n":"4","vb":true},{"n":"5","vlo":"3:0"},{"n":"6","vd":"AQID"},{"n":"13","v":1367491215,"t":-5}]',
];
/** SenML CBOR: /3/0 with vs, v (int and float), vb, "vlo", vd and bn; a time series with bt/t. */
const SENML_CBOR_SEEDS = [
  hex('87a321652f332f302f00613003744f70656e204d6f62696c6520416c6c69616e6365a20063372f3002190ed8a200613404f5a200613563766c6f63333a30a20061360843010203a200613302fa3fc00000a200623133021a5182428f'),
  hex('82 a4 21 6c 2f333330332f302f35373030 22 1a 0184876a 02 fb 4036666666666666 06 24 a2 02 fb 4036e66666666666 06 38 1d'),
];
const LINK_SEEDS = ['</>;rt="oma.lwm2m";ct=11543, </1/0>,</3/0>;ver=1.1', '</3/0/7>;dim=8;gt=50;lt=42.2,</3/0/4>;obs'];
const PATHS: LwM2mPath[] = ['/', '/3', '/3/0', '/3/0/0', '/3/0/1', '/3/0/1/0', '/3/0/6', '/9999', '/9999/0', '/9999/0/1', '/2', '/66/1'].map(
  parsePath,
);
const FORMATS = [
  ContentFormat.TLV, ContentFormat.TEXT, ContentFormat.OPAQUE, ContentFormat.OMA_JSON, ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR,
  ContentFormat.CBOR, ContentFormat.LWM2M_CBOR,
];

function mutate(seed: Buffer, next: () => number): Buffer {
  const bytes = Buffer.from(seed);
  switch (Math.floor(next() * 4)) {
    case 0: // flip a few bits
      for (let i = 0, n = 1 + Math.floor(next() * 4); i < n && bytes.length > 0; i++) {
        bytes[Math.floor(next() * bytes.length)] ^= 1 << Math.floor(next() * 8);
      }
      return bytes;
    case 1: // truncate
      return bytes.subarray(0, Math.floor(next() * bytes.length));
    case 2: // overwrite a byte with a random one
      if (bytes.length > 0) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
      return bytes;
    default: // random bytes
      return Buffer.from(Array.from({ length: Math.floor(next() * 48) }, () => Math.floor(next() * 256)));
  }
}

/** Runs `body` until `count` iterations or `budgetMs`, whichever comes first. */
function repeat(count: number, budgetMs: number, body: (i: number) => void): number {
  const deadline = Date.now() + budgetMs;
  let i = 0;
  for (; i < count && Date.now() < deadline; i++) body(i);
  return i;
}

function onlyCodecErrors(run: () => unknown, context: () => string): void {
  try {
    run();
  } catch (err) {
    if (!(err instanceof CodecError)) throw new Error(`${context()}: threw ${String(err)}`);
  }
}

describe('decoder fuzzing', () => {
  it('TLV, text, opaque, JSON, SenML and CBOR decoders throw only CodecError, and encode what they decode', () => {
    const next = random(0x1e2f);
    const seeds = [...TLV_SEEDS, ...JSON_SEEDS.map((s) => Buffer.from(s)), ...SENML_CBOR_SEEDS];
    const runs = repeat(4000, 2500, () => {
      const payload = mutate(seeds[Math.floor(next() * seeds.length)], next);
      const path = PATHS[Math.floor(next() * PATHS.length)];
      const format = FORMATS[Math.floor(next() * FORMATS.length)];
      const context = () => `format ${format} path ${JSON.stringify(path)} payload ${payload.toString('hex')}`;
      onlyCodecErrors(() => {
        const node = decodeNode(format, payload, path, model);
        onlyCodecErrors(() => encodeNode(format, path, node, model), context);
        onlyCodecErrors(() => encodeNode(ContentFormat.TLV, path, node, model), context);
        onlyCodecErrors(() => encodeNode(ContentFormat.OMA_JSON, path, node, model), context);
      }, context);
      onlyCodecErrors(() => decodeEntries(format, payload, path, model), context);
    });
    expect(runs).toBeGreaterThan(500);
  });

  it('TLV round trips what it decodes', () => {
    const next = random(7);
    repeat(2000, 1500, () => {
      const payload = mutate(TLV_SEEDS[Math.floor(next() * TLV_SEEDS.length)], next);
      const path = PATHS[1 + Math.floor(next() * (PATHS.length - 1))];
      let node;
      try {
        node = decodeNode(ContentFormat.TLV, payload, path, model);
      } catch (err) {
        expect(err).toBeInstanceOf(CodecError);
        return;
      }
      // Re-decoding the re-encoded node gives the same node (bytes may differ: widths are normalised).
      const again = decodeNode(ContentFormat.TLV, encodeNode(ContentFormat.TLV, path, node, model), path, model);
      expect(again).toEqual(node);
    });
  });

  it('the link format parser throws only CodecError', () => {
    const next = random(42);
    const alphabet = '<>;,="/\\ \n\t0123456789abcrt.';
    repeat(4000, 1500, (i) => {
      const text =
        i % 2 === 0
          ? mutate(Buffer.from(LINK_SEEDS[i % LINK_SEEDS.length]), next).toString('latin1')
          : Array.from({ length: Math.floor(next() * 40) }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
      onlyCodecErrors(() => parseLinkFormat(text), () => JSON.stringify(text));
    });
  });
});
