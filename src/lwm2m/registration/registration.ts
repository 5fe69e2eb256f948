import type { Peer } from '../../transport/transport';

/** A registered LwM2M client, as the registration interface knows it. */
export interface Registration {
  /** Registration id, the last segment of Location-Path `rd/<id>`. */
  id: string;
  endpoint: string;
  /** Effective lifetime in seconds (clamped). */
  lifetime: number;
  lwm2mVersion: string;
  binding: string;
  queueMode: boolean;
  /** Every register query parameter as sent (secrets included: the gateway filters them). */
  query: Record<string, string>;
  /**
   * Attributes of object links (`ver`, `ct`, ...) keyed by object-list entry; only links that carry
   * attributes appear, and undefined when none does (most devices): memory per idle device counts.
   */
  linkAttributes?: Record<string, Record<string, string | true>>;
  /** `rt="oma.lwm2m"` link's path, `/` by default; no trailing slash except for the root. */
  alternatePath: string;
  /** Object links with the alternate path stripped, e.g. `/3/0`. */
  objectList: string[];
  /** Content formats announced by the root link's `ct` attribute. */
  contentFormats: number[];
  peer: Peer;
  /** Attributes the admission step gave (the auth hook's `client_attrs`); undefined when none. */
  attributes?: Record<string, string>;
  registeredAt: number;
  /** Last register or update (ms since epoch), for lifetime expiry. */
  lastUpdate: number;
}
