import { startHarness, type Harness } from '../../support/harness';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every `$ref` in a document. */
function refsOf(value: Json, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refsOf(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === '$ref' && typeof v === 'string') out.push(v);
      else refsOf(v, out);
    }
  }
  return out;
}

/** The value a local `#/...` JSON pointer names, undefined when it names nothing. */
function resolve(doc: Json, ref: string): Json | undefined {
  let at: Json | undefined = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (at === null || typeof at !== 'object' || Array.isArray(at) || !Object.hasOwn(at, key)) return undefined;
    at = at[key];
  }
  return at;
}

describe('the OpenAPI document', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('is OpenAPI 3.1 listing every route, documents commands and answers with the MQTT contract schemas, and every $ref resolves', async () => {
    const res = await fetch(`http://127.0.0.1:${h.gw.httpPort}/api/v5/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, Json>>; components: { schemas: Record<string, Json> } } & Json;
    expect(doc.openapi).toBe('3.1.0');
    const api = '/api/v5/gateways/lwm2m';
    const expected: [string, string][] = [
      [`${api}/clients`, 'get'],
      [`${api}/clients/{clientid}`, 'get'],
      [`${api}/clients/{clientid}`, 'delete'],
      [`${api}/clients/{clientid}/lookup`, 'get'],
      [`${api}/clients/{clientid}/{msgType}`, 'post'],
      [`${api}/events`, 'get'],
      [`${api}/objects/{objectId}`, 'get'],
      ['/health/live', 'get'],
      ['/health/ready', 'get'],
      ['/metrics', 'get'],
      ['/api/v5/firmware/images', 'get'],
      ['/api/v5/firmware/images/{name}', 'get'],
      ['/api/v5/firmware/images/{name}', 'put'],
      ['/api/v5/firmware/images/{name}', 'delete'],
    ];
    for (const [path, method] of expected) expect({ path, method, listed: doc.paths[path]?.[method] !== undefined }).toEqual({ path, method, listed: true });
    const post = doc.paths[`${api}/clients/{clientid}/{msgType}`].post as { requestBody: Json; responses: Record<string, { content: Json }> };
    expect(post.requestBody).toEqual({ required: false, content: { 'application/json': { schema: { $ref: '#/components/schemas/Command' } } } });
    expect(post.responses['200'].content).toEqual({ 'application/json': { schema: { $ref: '#/components/schemas/UplinkMessage' } } });
    // The image upload streams its body: documented as bytes, with its digest header.
    const upload = doc.paths['/api/v5/firmware/images/{name}'].put as { requestBody: Json; parameters: { in: string; name: string }[] };
    expect(upload.requestBody).toEqual({ required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } });
    expect(upload.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'header', name: 'x-checksum-sha256' }), expect.objectContaining({ in: 'path', name: 'name' })]));
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['Command', 'Command.path', 'UplinkMessage', 'UplinkMessage.answer']));
    const refs = refsOf(doc);
    expect(refs.length).toBeGreaterThan(10);
    expect(refs.filter((ref) => !ref.startsWith('#/') || resolve(doc, ref) === undefined)).toEqual([]);
  });
});
