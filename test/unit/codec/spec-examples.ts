/*
 * Examples of the OMA TS Core data-format section and of RFC 8428 shared by the codec tests (SenML
 * JSON, SenML CBOR, OMA JSON): records as SenML JSON objects, and the typed entries they decode to.
 */

/** Table 7.4.4-2: Read /3/0, the Device object of the spec's example client. */
export const DEVICE_SENML: Record<string, unknown>[] = [
  { bn: '/3/0/', n: '0', vs: 'Open Mobile Alliance' },
  { n: '1', vs: 'Lightweight M2M Client' },
  { n: '2', vs: '345000123' },
  { n: '3', vs: '1.0' },
  { n: '6/0', v: 1 },
  { n: '6/1', v: 5 },
  { n: '7/0', v: 3800 },
  { n: '7/1', v: 5000 },
  { n: '8/0', v: 125 },
  { n: '8/1', v: 900 },
  { n: '9', v: 100 },
  { n: '10', v: 15 },
  { n: '11/0', v: 0 },
  { n: '13', v: 1367491215 },
  { n: '14', vs: '+02:00' },
  { n: '16', vs: 'U' },
];
/** The entries of that Device instance, typed by the model (senml-test-model.ts). */
export const DEVICE_ENTRIES = [
  { path: '/3/0/0', type: 'string', value: 'Open Mobile Alliance' },
  { path: '/3/0/1', type: 'string', value: 'Lightweight M2M Client' },
  { path: '/3/0/2', type: 'string', value: '345000123' },
  { path: '/3/0/3', type: 'string', value: '1.0' },
  { path: '/3/0/6/0', type: 'integer', value: 1 },
  { path: '/3/0/6/1', type: 'integer', value: 5 },
  { path: '/3/0/7/0', type: 'integer', value: 3800 },
  { path: '/3/0/7/1', type: 'integer', value: 5000 },
  { path: '/3/0/8/0', type: 'integer', value: 125 },
  { path: '/3/0/8/1', type: 'integer', value: 900 },
  { path: '/3/0/9', type: 'integer', value: 100 },
  { path: '/3/0/10', type: 'integer', value: 15 },
  { path: '/3/0/11/0', type: 'integer', value: 0 },
  { path: '/3/0/13', type: 'time', value: 1367491215 },
  { path: '/3/0/14', type: 'string', value: '+02:00' },
  { path: '/3/0/16', type: 'string', value: 'U' },
];

/**
 * OMA TS Core 1.1 Table 7.4.4-4 (object links), as SenML JSON records, shared by the SenML JSON and
 * SenML CBOR tests. The table writes the last link, of /66/1/2, in hex; wakaama's transcription
 * (tests/data_senml_json_tests.c, senml_json_test_3) corrects it to decimal "65535:65535", as here.
 */
export const OBJLNK_TABLE: Record<string, unknown>[] = [
  { bn: '/', n: '65/0/0/0', vlo: '66:0' },
  { n: '65/0/0/1', vlo: '66:1' },
  { n: '65/0/1', vs: '8613800755500' },
  { n: '65/0/2', v: 1 },
  { n: '66/0/0', vs: 'myService1' },
  { n: '66/0/1', vs: 'Internet.15.234' },
  { n: '66/0/2', vlo: '67:0' },
  { n: '66/1/0', vs: 'myService2' },
  { n: '66/1/1', vs: 'Internet.15.235' },
  { n: '66/1/2', vlo: '65535:65535' },
  { n: '67/0/0', vs: '85.76.76.84' },
  { n: '67/0/1', vs: '85.76.255.255' },
];

/**
 * RFC 8428 §5.1.2, second example (the one §6 shows in CBOR), with its names mapped onto LwM2M
 * paths (voltage → /3316/0/5700, current → /3317/0/5700) and everything else kept: bt, bu, bver on
 * the first record, then current at t = -5 .. 0 relative to bt (Tue Jun 8 18:01:16.001 UTC 2010).
 */
export const RFC_MEASUREMENTS: Record<string, unknown>[] = [
  { bn: '/', bt: 1.276020076001e9, bu: 'A', bver: 5, n: '3316/0/5700', u: 'V', v: 120.1 },
  { n: '3317/0/5700', t: -5, v: 1.2 },
  { n: '3317/0/5700', t: -4, v: 1.3 },
  { n: '3317/0/5700', t: -3, v: 1.4 },
  { n: '3317/0/5700', t: -2, v: 1.5 },
  { n: '3317/0/5700', t: -1, v: 1.6 },
  { n: '3317/0/5700', v: 1.7 },
];
