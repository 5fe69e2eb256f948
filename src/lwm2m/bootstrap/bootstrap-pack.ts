import { readCbor, writeCbor, type CborItem } from '../codec/cbor-value';
import { encodeSenmlCborNode } from '../codec/senml-cbor';
import type { ModelLookup } from '../model/types';
import type { ObjectNode } from '../node';
import type { BootstrapConfig } from './bootstrap-config';
import { bootstrapInstances } from './bootstrap-writes';

/*
 * The LwM2M 1.2 Bootstrap-Pack (TS Core 1.2 §6.1.7.7 "Bootstrap-Pack-Request Operation"): the
 * answer (2.05, SenML CBOR) to a device's `GET /bspack?ep=..`, carrying its whole configuration in
 * one payload instead of the Delete/Write/Finish exchange.
 *
 * What it carries, as found (the spec text itself was not at hand): object instances only, the
 * Security and Server instances in the ETS (1.2-int-12, "BS answers 2.05 with instances of /0 and
 * /1") and in Anjay's test suite (records named "0/2/0" .. "1/1/7" under bn "/"). A SenML record
 * cannot express a deletion, so the configuration's `delete` list has no place in it; and there is
 * no Bootstrap-Discover before a pack (OMA_LwM2M_for_Developers issue #547), so instance ids are
 * chosen as without a discover: the bootstrap account is assumed at /0/0 and is in the pack only
 * when the configuration rewrites it (`bootstrap_server`), exactly as planBootstrapWrites would.
 */

/** Every resource planBootstrapWrites would write (no discover layout), as one SenML CBOR pack. */
export function encodeBootstrapPack(config: BootstrapConfig, model: ModelLookup): Buffer {
  const objects = new Map<number, ObjectNode>();
  for (const instance of bootstrapInstances(config, undefined, model)) {
    let object = objects.get(instance.objectId);
    if (object === undefined) {
      object = { kind: 'object', id: instance.objectId, instances: new Map() };
      objects.set(instance.objectId, object);
    }
    object.instances.set(instance.node.id, instance.node);
  }
  // One node per object, each encoded by the shared SenML CBOR encoder (its first record sets
  // bn "/O/", which stays in force until the next object's): their records make one array.
  const records: CborItem[] = [];
  for (const object of [...objects.values()].sort((a, b) => a.id - b.id)) {
    const encoded = readCbor(encodeSenmlCborNode({ objectId: object.id }, object, model));
    if (encoded.kind !== 'array') throw new Error(`SenML CBOR encoder returned no array for /${object.id}`);
    records.push(...encoded.items);
  }
  return writeCbor({ kind: 'array', items: records });
}
