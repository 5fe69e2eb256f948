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
