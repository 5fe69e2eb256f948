import type { Peer } from '../../transport/transport';

/**
 * What the bootstrap server writes to one device (OMA LwM2M TS Core §5.2.7, §6.1): the typed,
 * validated configuration, whatever its source (the YAML file or the HTTP hook's answer). Secrets
 * (PSK keys, private keys) are Buffers here and must never be logged or published.
 */

/** Security Mode /0/x/2: 0 PSK, 1 RPK, 2 Certificate, 3 NoSec. */
export type SecurityMode = 'psk' | 'rpk' | 'x509' | 'nosec';

export const SECURITY_MODE_VALUE: Readonly<Record<SecurityMode, number>> = { psk: 0, rpk: 1, x509: 2, nosec: 3 };

/** One instance of the Security object (/0). */
export interface SecurityAccount {
  /** /0/x/0 LwM2M Server URI, e.g. "coaps://gw.example.com:5684". */
  uri: string;
  /** /0/x/2. */
  mode: SecurityMode;
  /** /0/x/3 Public Key or Identity: the PSK identity (UTF-8 bytes) or the client's certificate (DER). */
  publicKeyOrIdentity: Buffer;
  /** /0/x/4 Server Public Key: the server's certificate (DER) for x509, else empty. */
  serverPublicKey: Buffer;
  /** /0/x/5 Secret Key: the PSK, or the client's private key (PKCS#8 DER). A secret. */
  secretKey: Buffer;
  /** /0/x/11 Client Hold Off Time, seconds. */
  clientHoldOffTime?: number;
  /** /0/x/12 Bootstrap-Server Account Timeout, seconds (bootstrap account only). */
  bootstrapAccountTimeout?: number;
  /** Instance id to write; chosen by the session (a free id, never the bootstrap account's) when absent. */
  instanceId?: number;
}

/** A PSK the gateway's own DM DTLS listener learns, so that the device's next handshake works. */
export interface ProvisionedPsk {
  identity: string;
  /** A secret. */
  key: Buffer;
  /** The endpoint this identity may register. */
  endpoint: string;
}

/**
 * Where provisioned PSKs go (the gateway's DM DTLS listener). `refusal` is asked when the
 * Bootstrap-Request comes, before anything is done to the device; `add` just before the writes.
 */
export interface PskProvisioner {
  refusal(psk: ProvisionedPsk): string | undefined;
  add(psk: ProvisionedPsk): Promise<void>;
}

/**
 * An OSCORE context (RFC 8613; LwM2M 1.1+ object 21 "LWM2M OSCORE"): a server reached over OSCORE
 * has its Security instance's /0/x/17 "OSCORE Security Mode" link to the /21 instance carrying this.
 */
export interface OscoreContext {
  /** /21/x/0 OSCORE Master Secret. A secret. */
  masterSecret: Buffer;
  /** /21/x/1 OSCORE Sender ID (the client's), 0..7 bytes. */
  senderId: Buffer;
  /** /21/x/2 OSCORE Recipient ID (the server's), 0..7 bytes. */
  recipientId: Buffer;
  /** /21/x/3 AEAD Algorithm (COSE id); 10 (AES-CCM-16-64-128) when absent. */
  aeadAlgorithm?: number;
  /** /21/x/4 HMAC Algorithm (COSE id); -10 (HKDF SHA-256) when absent. */
  hmacAlgorithm?: number;
  /** /21/x/5 OSCORE Master Salt; empty when absent. */
  masterSalt?: Buffer;
  /** /21/x/6 OSCORE ID Context; not written when absent. */
  idContext?: Buffer;
  /** Instance id of the OSCORE (/21) instance; chosen by the session when absent. */
  instanceId?: number;
}

/** A LwM2M (DM) server account: a Security instance and a Server instance (/1) with one short server id. */
export interface ServerAccount {
  security: SecurityAccount;
  /** /0/x/10 and /1/y/0: 1..65534. */
  shortServerId: number;
  /** /1/y/1, seconds. */
  lifetime: number;
  /** /1/y/2, /1/y/3, seconds. */
  defaultMinPeriod?: number;
  defaultMaxPeriod?: number;
  /** /1/y/5, seconds. */
  disableTimeout?: number;
  /** /1/y/6 Notification Storing When Disabled or Offline. */
  notificationStoring: boolean;
  /** /1/y/7, e.g. "U", "UQ" (1.0), "T". */
  binding: string;
  /** Instance id of the Server (/1) instance; chosen by the session when absent. */
  serverInstanceId?: number;
  /** Set when this account's PSK is to be added to the gateway's DM listener credentials. */
  provision?: ProvisionedPsk;
  /** Set when the device reaches this server over OSCORE: written to /21 and linked from /0/x/17. */
  oscore?: OscoreContext;
}

/** One Access Control object instance (/2). */
export interface AclInstance {
  /** /2/x/0 and /2/x/1: the object instance it controls. */
  objectId: number;
  objectInstanceId: number;
  /** /2/x/2: resource instance id = short server id (0: default for all servers), value = access bits. */
  acl: readonly (readonly [shortServerId: number, bits: number])[];
  /** /2/x/3 Access Control Owner (short server id). */
  owner: number;
  /** Instance id of the ACL instance; chosen by the session when absent. */
  instanceId?: number;
}

/** The LwM2M version the bootstrap is carried out for (the writes' resources and default format depend on it). */
export type BootstrapVersion = '1.0' | '1.1' | '1.2';

export interface BootstrapConfig {
  /** Paths sent Bootstrap-Delete first, in order: "/", "/0", "/1", "/0/1", ... Default ["/0", "/1"]. */
  delete: readonly string[];
  /** Send Bootstrap-Discover on "/" first (learns the version and the bootstrap account's instance). Default true. */
  discover: boolean;
  /** Bootstrap-Read these paths (1.1+ clients; /1 and /2 and their instances) before deleting. Default []. */
  read: readonly string[];
  /** Force the writes' content format (a ContentFormat number); else the device's `pct`, else per version. */
  contentFormat?: number;
  /** Force the version; else learnt from the Bootstrap-Discover answer (`lwm2m=` on `</>`), else 1.0. */
  version?: BootstrapVersion;
  /** The DM servers to write. */
  servers: readonly ServerAccount[];
  /** Rewrite of the bootstrap account itself (its Security instance, Bootstrap-Server true), if given. */
  bootstrapAccount?: SecurityAccount;
  /** ACL instances to write. */
  acls: readonly AclInstance[];
}

/** A Bootstrap-Request (or Bootstrap-Pack-Request) that passed the protocol checks. */
export interface BootstrapCandidate {
  endpoint: string;
  peer: Peer;
  /** `coap` (UDP) or `coaps` (DTLS). */
  scheme: string;
  /** Preferred content format (`pct`, 1.1+), if sent. */
  preferredFormat?: number;
  /** Every query parameter as sent. */
  query: Readonly<Record<string, string>>;
}

/** The answer of a configuration source for one candidate. */
export type BootstrapLookup =
  | { found: true; config: BootstrapConfig }
  | {
      found: false;
      code: '4.00' | '4.01' | '4.03' | '5.03';
      reason: string;
      /** Max-Age of a 5.03. */
      retryAfter?: number;
      /** The source has no opinion (the hook answered `ignore`): a chain asks its next source. */
      passOn?: boolean;
    };

/**
 * Where configurations come from (the YAML file, the HTTP hook). Must not throw; a rejected
 * promise counts as 5.03 (the source failed, nothing is known about the device).
 */
export interface BootstrapConfigSource {
  lookup(candidate: BootstrapCandidate): BootstrapLookup | Promise<BootstrapLookup>;
}
