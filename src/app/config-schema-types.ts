/**
 * GENERATED from schemas/gateway.schema.json by scripts/gen-config-types.ts: do not edit by hand.
 * Change the schema, then run `npm run gen:config-types` (a test fails while this file is out of date).
 *
 * The configuration document after schema validation: every key that has a default in the schema is
 * present (required here); durations, sizes and binds are still as written (number or string).
 * src/app/config.ts derives the validated GatewayConfig from these types.
 */

/**
 * An LwM2M path: /O, /O/I, /O/I/R or /O/I/R/RI.
 */
export type Lwm2MPath = string;

/**
 * Key names follow EMQX's gateway.lwm2m settings. Durations are seconds (a number) or a string such as "22s", "5m", "250ms"; sizes are bytes (a number) or a string such as "64KB", "4MB" (KB = 1024 bytes); the ranges of both are checked in code after conversion.
 */
export interface ConfigDocument {
  mqtt: {
    /**
     * An existing broker; absent or empty starts the embedded one.
     */
    url?: string;
    username?: string;
    password?: string;
    /**
     * Empty: generated. Required when clean is false.
     */
    client_id?: string;
    clean: boolean;
    /**
     * Seconds as a number, or a string with an optional unit: ms, s, m, h, d.
     */
    keepalive: number | string;
    /**
     * Seconds as a number, or a string with an optional unit: ms, s, m, h, d.
     */
    reconnect_period: number | string;
    ca_file?: string;
    cert_file?: string;
    key_file?: string;
    reject_unauthorized: boolean;
  };
  embedded_broker: {
    /**
     * "host:port", "[ipv6]:port", ":port" (all interfaces) or a bare port.
     */
    bind: number | string;
  };
  lwm2m: {
    xml_dir?: string;
    /**
     * Seconds as a number, or a string with an optional unit: ms, s, m, h, d.
     */
    lifetime_min: number | string;
    /**
     * Seconds as a number, or a string with an optional unit: ms, s, m, h, d.
     */
    lifetime_max: number | string;
    /**
     * Seconds as a number, or a string with an optional unit: ms, s, m, h, d.
     */
    qmode_time_window: number | string;
    /**
     * false, true (every object-list entry but the core objects) or a list of paths.
     */
    auto_observe: boolean | Lwm2MPath[];
    update_msg_publish_condition: 'always' | 'contains_object_list';
    mountpoint: string;
    translators: {
      command: {
        topic: string;
        qos: 0 | 1 | 2;
      };
      response: {
        topic: string;
        qos: 0 | 1 | 2;
      };
      bootstrap: {
        topic: string;
        qos: 0 | 1 | 2;
      };
      firmware: {
        topic: string;
        qos: 0 | 1 | 2;
      };
      /**
       * Software management jobs (object 9: install, uninstall, activate, deactivate): their progress and end.
       */
      software: {
        topic: string;
        qos: 0 | 1 | 2;
      };
      /**
       * Devices with a profile: one telemetry point per notification, read or Send of mapped paths. A whole topic (not under the mountpoint); placeholders ${tenant}, ${device_id}, ${endpoint_name}.
       */
      telemetry: {
        topic: string;
        qos: 0 | 1 | 2;
      };
      /**
       * Devices with a profile: the attributes read on register. A whole topic; placeholders as telemetry.
       */
      attributes: {
        topic: string;
        qos: 0 | 1 | 2;
      };
      /**
       * Devices with a profile: online / offline. A whole topic; placeholders as telemetry.
       */
      status: {
        topic: string;
        qos: 0 | 1 | 2;
      };
      notify: {
        topic: string;
        qos: 0 | 1 | 2;
      };
      register: {
        topic: string;
        qos: 0 | 1 | 2;
      };
      update: {
        topic: string;
        qos: 0 | 1 | 2;
      };
      deregister: {
        topic: string;
        qos: 0 | 1 | 2;
      };
      send: {
        topic: string;
        qos: 0 | 1 | 2;
      };
    };
    coap: {
      /**
       * Seconds as a number, or a string with an optional unit: ms, s, m, h, d.
       */
      ack_timeout: number | string;
      ack_random_factor: number;
      max_retransmit: number;
    };
    blockwise: {
      enable: boolean;
      max_block_size: 16 | 32 | 64 | 128 | 256 | 512 | 1024;
      /**
       * Largest reassembled body (>= 16 bytes).
       */
      max_body_size: number | string;
      /**
       * Seconds as a number, or a string with an optional unit: ms, s, m, h, d.
       */
      exchange_lifetime: number | string;
      /**
       * Bytes held in unfinished Block1 bodies in total (>= 16); beyond it 5.03.
       */
      max_pending_bytes: number | string;
      /**
       * Bytes held in unfinished Block1 bodies per source address (>= 16); beyond it 4.13.
       */
      max_pending_bytes_per_source: number | string;
    };
    /**
     * Name to LwM2M path, e.g. batteryLevel: /3/0/9.
     */
    keys: {
      [k: string]: Lwm2MPath;
    };
    /**
     * Commands waiting per device; more are answered 5.03 at once.
     */
    max_queued_commands: number;
    /**
     * Largest MQTT command payload (>= 64 bytes); larger ones are answered 4.13.
     */
    max_command_size: number | string;
    /**
     * Longest endpoint name in bytes (UTF-8); a longer one gets 4.00.
     */
    max_endpoint_length: number;
    /**
     * Object links one register or update may carry; more get 4.13.
     */
    max_object_links: number;
    /**
     * Registered devices in total; a new endpoint beyond it gets 5.03.
     */
    max_registrations: number;
    registration_rate: {
      /**
       * Registers per second from one source address (token bucket); beyond it 4.29.
       */
      per_source: number;
      /**
       * Registers one source address may make at once.
       */
      burst: number;
    };
    /**
     * Register query parameters whose name contains one of these (case-insensitive) never reach MQTT.
     */
    secret_query_keys: string[];
  };
  listeners: {
    udp: {
      /**
       * false: no plain CoAP/UDP listener (DTLS only).
       */
      enable: boolean;
      /**
       * "host:port", "[ipv6]:port", ":port" (all interfaces) or a bare port.
       */
      bind: number | string;
      enable_authn: boolean;
      /**
       * Kernel receive buffer (>= 1 byte); absent: the transport's default.
       */
      recbuf?: number | string;
    };
    dtls: {
      /**
       * No default on purpose: absent means on when psk_file or certfile is set (resolved in code); false turns it off anyway.
       */
      enable?: boolean;
      /**
       * "host:port", "[ipv6]:port", ":port" (all interfaces) or a bare port.
       */
      bind: number | string;
      enable_authn: boolean;
      psk_file?: string;
      certfile?: string;
      keyfile?: string;
      cacertfile?: string;
      verify: 'verify_peer' | 'verify_none';
      ciphers?: string[];
      /**
       * Seconds as a number, or a string with an optional unit: ms, s, m, h, d.
       */
      session_timeout: number | string;
      max_sessions: number;
      /**
       * Unfinished DTLS handshakes (past the cookie exchange) in total.
       */
      max_handshakes: number;
      /**
       * Unfinished DTLS handshakes from one source address.
       */
      max_handshakes_per_source: number;
    };
    bootstrap_udp: {
      /**
       * Serve the LwM2M Bootstrap-Server on its own plain CoAP/UDP listener (needs bootstrap.config_file or bootstrap.http.url).
       */
      enable: boolean;
      /**
       * "host:port", "[ipv6]:port", ":port" (all interfaces) or a bare port.
       */
      bind: number | string;
      /**
       * Kernel receive buffer (>= 1 byte); absent: the transport's default.
       */
      recbuf?: number | string;
    };
    bootstrap_dtls: {
      /**
       * Serve the LwM2M Bootstrap-Server on its own DTLS listener, with its own credentials (psk_file, certfile).
       */
      enable: boolean;
      /**
       * "host:port", "[ipv6]:port", ":port" (all interfaces) or a bare port.
       */
      bind: number | string;
      /**
       * The bootstrap credentials: a YAML list of {identity, key (hex), endpoint?}, as listeners.dtls.psk_file.
       */
      psk_file?: string;
      certfile?: string;
      keyfile?: string;
      cacertfile?: string;
      verify: 'verify_peer' | 'verify_none';
      ciphers?: string[];
      /**
       * Seconds as a number, or a string with an optional unit: ms, s, m, h, d.
       */
      session_timeout: number | string;
      max_sessions: number;
      /**
       * Unfinished DTLS handshakes (past the cookie exchange) in total.
       */
      max_handshakes: number;
      /**
       * Unfinished DTLS handshakes from one source address.
       */
      max_handshakes_per_source: number;
    };
  };
  bootstrap: {
    /**
     * YAML file of bootstrap configurations (defaults and per-endpoint entries), re-read on SIGHUP.
     */
    config_file?: string;
    http: {
      /**
       * The bootstrap hook, asked for each Bootstrap-Request before config_file; off while empty.
       */
      url: string;
      method: 'get' | 'post';
      headers: {
        [k: string]: string;
      };
      body: {
        [k: string]: unknown;
      };
      /**
       * Seconds as a number, or a string with an optional unit: ms, s, m, h, d.
       */
      timeout: number | string;
      /**
       * Concurrent hook requests; Bootstrap-Requests beyond it get 5.03.
       */
      max_in_flight: number;
      /**
       * Concurrent hook requests for one source address; Bootstrap-Requests beyond it get 5.03.
       */
      max_in_flight_per_source: number;
    };
    /**
     * Also answer Bootstrap-Requests (POST /bs) on the LwM2M listeners (listeners.udp, listeners.dtls).
     */
    on_dm_listeners: boolean;
    /**
     * A bootstrap that has not finished after this long fails.
     */
    session_timeout: number | string;
    /**
     * Bootstraps running at once; more Bootstrap-Requests get 5.03.
     */
    max_sessions: number;
    request_rate: {
      /**
       * Bootstrap-Requests per second from one source address; more get 4.29.
       */
      per_source: number;
      /**
       * Bootstrap-Requests at once from one source address.
       */
      burst: number;
    };
    /**
     * Write configurations that carry keys (PSK, private key, OSCORE secret) over plain UDP too, where anyone may ask for any endpoint's; false: 4.03, bootstrap over DTLS.
     */
    allow_keys_over_udp: boolean;
    /**
     * PSKs the bootstrap server may add to the DTLS listener (provision); beyond it a bootstrap that would add one fails.
     */
    max_provisioned: number;
  };
  firmware: {
    /**
     * Directory of firmware images and software packages (data.image names a file in it); empty: jobs by data.uri only.
     */
    dir: string;
    /**
     * Largest image stored, pushed or served.
     */
    max_image_size: number | string;
    /**
     * Most images in firmware.dir.
     */
    max_images: number;
    /**
     * A firmware or software job that has not ended after this long fails.
     */
    job_timeout: number | string;
    /**
     * How often a job reads /5/0 (or /9/x) while the device cannot be observed.
     */
    poll_interval: number | string;
    /**
     * Firmware and software jobs under way at once, all devices together; more get 5.03.
     */
    max_jobs: number;
    /**
     * Host name or address devices reach the gateway at, in the URIs of images it serves (pull); empty: the listener's bind address unless that is a wildcard.
     */
    public_host: string;
    http: {
      /**
       * Also serve images to devices over HTTP(S) ("protocol": "http" or "https").
       */
      enable: boolean;
      /**
       * "host:port", "[ipv6]:port", ":port" (all interfaces) or a bare port.
       */
      bind: number | string;
      /**
       * Base URL devices reach this server at, e.g. https://fw.example.com:8090; empty: built from public_host and the port.
       */
      public_url: string;
      /**
       * PEM certificate chain: HTTPS instead of HTTP.
       */
      certfile: string;
      /**
       * PEM private key of certfile.
       */
      keyfile: string;
      /**
       * Open connections, all devices together; more get 503.
       */
      max_connections: number;
      /**
       * Open connections from one source address; more get 503.
       */
      max_connections_per_source: number;
    };
  };
  auth: {
    http: {
      /**
       * Off while empty.
       */
      url: string;
      method: 'get' | 'post';
      headers: {
        [k: string]: string;
      };
      body: {
        [k: string]: unknown;
      };
      /**
       * Seconds as a number, or a string with an optional unit: ms, s, m, h, d.
       */
      timeout: number | string;
      /**
       * Concurrent auth requests; registers beyond it get 5.03.
       */
      max_in_flight: number;
      /**
       * Concurrent auth requests for one source address; registers beyond it get 5.03.
       */
      max_in_flight_per_source: number;
    };
  };
  http: {
    /**
     * Serve the management plane (API, events, metrics, health, console).
     */
    enable: boolean;
    /**
     * Where it listens. With no api_keys it binds to loopback only, whatever the host here says.
     */
    bind: number | string;
    /**
     * Credentials for the API (HTTP Basic, user = key, password = secret, as EMQX's API keys). Empty: no authentication, loopback only.
     *
     * @maxItems 1000
     */
    api_keys: {
      key: string;
      secret: string;
    }[];
    /**
     * PEM certificate chain: serve HTTPS (with keyfile).
     */
    certfile?: string;
    /**
     * PEM private key of certfile.
     */
    keyfile?: string;
    /**
     * Whether /metrics requires an API key too (the API always does when keys are set; /health/* never).
     */
    metrics_auth: boolean;
    /**
     * Failed authentications allowed per source address per minute; beyond it every request from that address gets 429 until the minute has passed.
     */
    auth_failures_per_minute: number;
    /**
     * How long a synchronous command (POST .../clients/{clientid}/{msgType}) waits for its answer before 504.
     */
    command_timeout: number | string;
    /**
     * Largest request body.
     */
    max_body_size: number | string;
    events: {
      /**
       * Event streams open at once; more get 503.
       */
      max_consumers: number;
      /**
       * Bytes an event stream may have waiting to be written; a consumer beyond it is dropped.
       */
      max_buffered: number | string;
    };
  };
  /**
   * Where the gateway keeps the state that survives a restart (registrations, observations, queued commands).
   */
  store: {
    /**
     * embedded: files under dir; memory: nothing survives a restart; redis: the server at url.
     */
    type: 'embedded' | 'memory' | 'redis';
    /**
     * The embedded store's directory; a relative path is taken from the working directory, as the other file paths.
     */
    dir: string;
    /**
     * redis:// or rediss:// URL of the Redis server; required when type is redis, ignored otherwise.
     */
    url?: string;
    /**
     * How often the embedded store makes its changes durable (> 0, at most 10s; above 1s a crash can lose more than the last second of changes).
     */
    sync_interval: number | string;
    /**
     * Prefix of every Redis key the gateway writes.
     */
    key_prefix: string;
    /**
     * This gateway's name among the instances sharing a Redis store: it takes back at restart the devices it held under this name (default: the host name). Must differ between instances and stay the same across restarts.
     */
    instance?: string;
  };
  /**
   * Device profiles (README "Device profiles"): device id, telemetry, attributes, RPC and observations per kind of device; checked in full at start and on SIGHUP.
   *
   * @maxItems 1000
   */
  profiles:
    | {
        [k: string]: unknown;
      }[]
    | null;
  /**
   * YAML file whose top level is profiles: (instead of profiles here); re-read on SIGHUP.
   */
  profiles_file: string;
  log: {
    level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  };
}
