import type { ModelLookup } from '../../../src/lwm2m/model/types';
import type { LwM2mPath } from '../../../src/lwm2m/path';
import { CodecError, decodeEntries, decodeNode, encodeNode } from '../../../src/lwm2m/codec';

/**
 * Decodes `count` drawn payloads in `format` (entries and node): anything but a CodecError fails
 * the test, naming the payload; a payload that decodes must re-encode and decode to the same kind.
 * Returns how many decoded, so that a test can check the draws were not all rejected outright.
 */
export function fuzzFormat(format: number, count: number, draw: () => [Buffer, LwM2mPath], model: ModelLookup, show: (payload: Buffer) => string): number {
  let decoded = 0;
  for (let i = 0; i < count; i++) {
    const [payload, path] = draw();
    const onlyCodecErrors = (run: () => void): void => {
      try {
        run();
      } catch (err) {
        if (!(err instanceof CodecError)) throw new Error(`payload ${show(payload)} path ${JSON.stringify(path)}: threw ${String(err)}`);
      }
    };
    onlyCodecErrors(() => {
      decodeEntries(format, payload, path, model);
    });
    onlyCodecErrors(() => {
      const node = decodeNode(format, payload, path, model);
      decoded++;
      const again = decodeNode(format, encodeNode(format, path, node, model), path, model);
      expect(again.kind).toBe(node.kind);
    });
  }
  return decoded;
}
