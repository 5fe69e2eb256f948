/** One pre-shared key: the identity a device presents, its key, and the endpoint it may register. */
export interface PskEntry {
  identity: string;
  key: Buffer;
  /** Endpoint name bound to this identity; the identity itself when absent. */
  endpoint?: string;
}

/**
 * Where the DTLS transport finds pre-shared keys. Called synchronously inside the handshake, so it
 * must answer from memory (the PSK file is read once and again on SIGHUP, never per handshake).
 */
export interface PskLookup {
  lookupPsk(identity: string): PskEntry | undefined;
}
