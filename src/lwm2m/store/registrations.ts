/**
 * Registrations as stored data: today's `Registration` (../registration/registration.ts) minus live
 * objects. The peer is plain data, so a restarted gateway can answer the device where it last spoke from.
 */
export interface PeerRecord {
  readonly address: string;
  readonly port: number;
  /** Who the DTLS handshake authenticated; absent on plain UDP. */
  readonly identity?: {
    readonly kind: 'psk' | 'x509';
    readonly name: string;
    readonly endpoints: readonly string[];
  };
}

export interface RegistrationRecord {
  /** Registration id (Location-Path `rd/<id>`). */
  readonly id: string;
  readonly endpoint: string;
  /** Effective lifetime in seconds. */
  readonly lifetime: number;
  readonly lwm2mVersion: string;
  readonly binding: string;
  readonly queueMode: boolean;
  readonly query: Readonly<Record<string, string>>;
  readonly linkAttributes?: Readonly<Record<string, Readonly<Record<string, string | true>>>>;
  readonly alternatePath: string;
  readonly objectList: readonly string[];
  readonly contentFormats: readonly number[];
  readonly peer: PeerRecord;
  readonly attributes?: Readonly<Record<string, string>>;
  readonly registeredAt: number;
  /** Last register or update (ms since epoch), for lifetime expiry. */
  readonly lastUpdate: number;
  /** The gateway instance that holds the device (store.instance), when several share the store. */
  readonly owner?: string;
}

/**
 * Registrations by id and by endpoint (at most one per endpoint).
 *
 * Immutable records: a store keeps its own copy of what it is given (later changes to the caller's
 * object do not reach it) and returns frozen objects (assigning to one throws a TypeError in strict
 * code). To change a registration, build a new record (`{ ...old, lastUpdate }`) and call `update`.
 */
export interface RegistrationRecordStore {
  get(id: string): Promise<RegistrationRecord | undefined>;
  byEndpoint(endpoint: string): Promise<RegistrationRecord | undefined>;
  /** Every registration, in no particular order (expiry sweep, restart). */
  all(): AsyncIterable<RegistrationRecord>;
  /**
   * Adds a registration; returns the one it replaces (same endpoint), already removed. Observations
   * and queued commands of the replaced one are the caller's to drop: stores do not cascade.
   */
  add(record: RegistrationRecord): Promise<RegistrationRecord | undefined>;
  /**
   * Replaces the registration with the record's id; false (nothing stored) when there is none.
   * The endpoint of a registration never changes: a record with another endpoint is refused (throws).
   */
  update(record: RegistrationRecord): Promise<boolean>;
  remove(id: string): Promise<RegistrationRecord | undefined>;
}
