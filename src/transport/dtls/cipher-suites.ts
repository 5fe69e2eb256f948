/**
 * The DTLS 1.2 cipher suites the gateway offers: LwM2M's mandatory CCM_8 suites (TS Transport §5.2.8)
 * plus the GCM and CBC variants devices commonly carry. Config takes IANA or OpenSSL names.
 */
export const CIPHER_SUITES: ReadonlyArray<{ iana: string; openssl: string; kind: 'psk' | 'certificate' }> = [
  { iana: 'TLS_PSK_WITH_AES_128_CCM_8', openssl: 'PSK-AES128-CCM8', kind: 'psk' },
  { iana: 'TLS_PSK_WITH_AES_128_GCM_SHA256', openssl: 'PSK-AES128-GCM-SHA256', kind: 'psk' },
  { iana: 'TLS_PSK_WITH_AES_128_CBC_SHA256', openssl: 'PSK-AES128-CBC-SHA256', kind: 'psk' },
  { iana: 'TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8', openssl: 'ECDHE-ECDSA-AES128-CCM8', kind: 'certificate' },
  { iana: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', openssl: 'ECDHE-ECDSA-AES128-GCM-SHA256', kind: 'certificate' },
];

export const DEFAULT_CIPHERS: readonly string[] = CIPHER_SUITES.map((s) => s.iana);

/** The OpenSSL name of a suite given by either name; undefined when the gateway does not offer it. */
export function opensslCipherName(name: string): string | undefined {
  const upper = name.trim().toUpperCase();
  return CIPHER_SUITES.find((s) => s.iana === upper || s.openssl === upper)?.openssl;
}

/** Whether a suite (either name) needs a server certificate. */
export function isCertificateSuite(name: string): boolean {
  const upper = name.trim().toUpperCase();
  return CIPHER_SUITES.some((s) => (s.iana === upper || s.openssl === upper) && s.kind === 'certificate');
}
