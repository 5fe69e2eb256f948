import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, configWarnings, defaultConfig, loadConfigFile, maskUrlPassword, parseBind, parseConfig, type GatewayConfig } from '../../../src/app/config';
import { DEFAULT_CIPHERS } from '../../../src/transport/dtls/cipher-suites';

const REPO_ROOT = path.resolve(__dirname, '../../..');

/** Expects `text` to be refused with a ConfigError naming `key`; returns the message. */
function refused(text: string, key: string): string {
  try {
    parseConfig(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toBe(key);
    expect((err as ConfigError).message.startsWith(`${key}: `)).toBe(true);
    return (err as ConfigError).message;
  }
  throw new Error(`not refused: ${text}`);
}

describe('defaults', () => {
  it('an empty text gives every default', () => {
    const config = parseConfig('');
    expect(config).toEqual(defaultConfig());
    expect(parseConfig('# only a comment\n')).toEqual(config);
    expect(parseConfig('{}')).toEqual(config);
  });

  it('has the documented values', () => {
    const config = defaultConfig();
    expect(config.mqtt).toEqual({ clean: true, keepalive: 60, reconnect_period: 1, reject_unauthorized: true });
    expect(config.mqtt.url).toBeUndefined();
    expect(config.embedded_broker.bind).toEqual({ host: '127.0.0.1', port: 1883 });
    expect(config.lwm2m).toEqual({
      lifetime_min: 15,
      lifetime_max: 86400,
      qmode_time_window: 22,
      auto_observe: false,
      update_msg_publish_condition: 'always',
      mountpoint: 'lwm2m/${endpoint_name}/',
      translators: {
        command: { topic: 'dn/#', qos: 0 },
        response: { topic: 'up/resp', qos: 0 },
        notify: { topic: 'up/notify', qos: 0 },
        register: { topic: 'up/register', qos: 0 },
        update: { topic: 'up/update', qos: 0 },
        deregister: { topic: 'up/deregister', qos: 0 },
        send: { topic: 'up/send', qos: 0 },
        bootstrap: { topic: 'up/bootstrap', qos: 0 },
        firmware: { topic: 'up/firmware', qos: 0 },
        software: { topic: 'up/software', qos: 0 },
        telemetry: { topic: 'telemetry/${tenant}/${device_id}', qos: 0 },
        attributes: { topic: 'attributes/${tenant}/${device_id}', qos: 0 },
        status: { topic: 'status/${tenant}/${device_id}', qos: 0 },
      },
      coap: { ack_timeout: 2, ack_random_factor: 1.5, max_retransmit: 4 },
      blockwise: {
        enable: true,
        max_block_size: 1024,
        max_body_size: 4194304,
        exchange_lifetime: 247,
        max_pending_bytes: 64 * 1024 * 1024,
        max_pending_bytes_per_source: 8 * 1024 * 1024,
      },
      keys: {},
      max_queued_commands: 100,
      max_command_size: 1024 * 1024,
      max_endpoint_length: 256,
      max_object_links: 1024,
      max_registrations: 100000,
      registration_rate: { per_source: 100, burst: 1000 },
      secret_query_keys: ['pass', 'pwd', 'secret', 'token', 'key', 'psk', 'auth'],
    });
    expect(config.listeners.udp).toEqual({ enable: true, bind: { host: '0.0.0.0', port: 5683 }, enable_authn: true });
    expect(config.listeners.dtls).toEqual({
      enable: false,
      bind: { host: '0.0.0.0', port: 5684 },
      enable_authn: true,
      verify: 'verify_none',
      session_timeout: 600,
      max_sessions: 100000,
      max_handshakes: 10000,
      max_handshakes_per_source: 100,
    });
    expect(config.auth.http).toEqual({ url: '', method: 'post', headers: {}, body: {}, timeout: 5, max_in_flight: 100, max_in_flight_per_source: 20 });
    expect(config.http.bind).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.store).toEqual({ type: 'embedded', dir: 'data', sync_interval: 1, key_prefix: 'lwm2m:' });
    expect(config.log.level).toBe('info');
  });

  it('returns a fresh object each time', () => {
    const a = defaultConfig();
    a.lwm2m.translators.command.topic = 'changed';
    a.lwm2m.keys.x = '/3/0/9';
    expect(defaultConfig().lwm2m.translators.command.topic).toBe('dn/#');
    expect(defaultConfig().lwm2m.keys).toEqual({});
  });

  it('a partly given section keeps the defaults of the rest', () => {
    const config = parseConfig('lwm2m:\n  translators:\n    notify: { qos: 1 }\n  coap: { max_retransmit: 2 }\n');
    expect(config.lwm2m.translators.notify).toEqual({ topic: 'up/notify', qos: 1 });
    expect(config.lwm2m.translators.command).toEqual({ topic: 'dn/#', qos: 0 });
    expect(config.lwm2m.coap).toEqual({ ack_timeout: 2, ack_random_factor: 1.5, max_retransmit: 2 });
  });

  it('an empty value or section counts as absent', () => {
    const config = parseConfig('mqtt:\n  # url: mqtt://x\n  username:\nlwm2m:\nlog:\n');
    expect(config).toEqual(defaultConfig());
  });

  it('empty optional strings count as absent', () => {
    const config = parseConfig('mqtt: { url: "", username: "", client_id: "" }\n');
    expect(config.mqtt.url).toBeUndefined();
    expect(config.mqtt.username).toBeUndefined();
    expect(config.mqtt.client_id).toBeUndefined();
  });
});

describe('every key', () => {
  const text = `
mqtt:
  url: mqtts://broker.example:8883
  username: gw
  password: pw
  client_id: gw-1
  clean: false
  keepalive: 2m
  reconnect_period: 500ms
  ca_file: /ca.pem
  cert_file: /gw.pem
  key_file: /gw.key
  reject_unauthorized: false
embedded_broker:
  bind: ":11883"
lwm2m:
  xml_dir: ./models
  lifetime_min: 30s
  lifetime_max: 1d
  qmode_time_window: 30
  auto_observe: ["/3303/0/5700", "3/0"]
  update_msg_publish_condition: contains_object_list
  mountpoint: "lw/\${clientid}/"
  translators:
    command:    { topic: "c/#",  qos: 1 }
    response:   { topic: "r",    qos: 2 }
    notify:     { topic: "n",    qos: 1 }
    register:   { topic: "reg",  qos: 1 }
    update:     { topic: "upd",  qos: 1 }
    deregister: { topic: "dereg", qos: 1 }
    send:       { topic: "s",    qos: 2 }
  coap: { ack_timeout: 1500ms, ack_random_factor: 1, max_retransmit: 2 }
  blockwise: { enable: false, max_block_size: 256, max_body_size: 65536, exchange_lifetime: 2m }
  keys: { batteryLevel: /3/0/9, temperature: /3303/0/5700 }
listeners:
  udp: { bind: "[::]:5683", enable_authn: false, recbuf: 8388608 }
  dtls:
    enable: true
    bind: 15684
    enable_authn: false
    psk_file: /psk.txt
    certfile: /server.pem
    keyfile: /server.key
    cacertfile: /ca.pem
    verify: verify_peer
    ciphers: [TLS_PSK_WITH_AES_128_CCM_8]
    session_timeout: 1h
    max_sessions: 50
auth:
  http:
    url: http://127.0.0.1:8000/auth
    method: get
    headers: { x-api-key: k }
    body: { ep: "\${endpoint_name}", n: 1 }
    timeout: 3s
http:
  bind: "0.0.0.0:18080"
store:
  type: redis
  dir: /var/lib/gw
  url: rediss://:pw@redis.example:6380/2
  sync_interval: 500ms
  key_prefix: "gw1:"
  instance: gw-1.eu
log:
  level: debug
`;

  it('is read and converted', () => {
    const expected: GatewayConfig = {
      mqtt: {
        url: 'mqtts://broker.example:8883',
        username: 'gw',
        password: 'pw',
        client_id: 'gw-1',
        clean: false,
        keepalive: 120,
        reconnect_period: 0.5,
        ca_file: '/ca.pem',
        cert_file: '/gw.pem',
        key_file: '/gw.key',
        reject_unauthorized: false,
      },
      embedded_broker: { bind: { host: '0.0.0.0', port: 11883 } },
      lwm2m: {
        xml_dir: './models',
        lifetime_min: 30,
        lifetime_max: 86400,
        qmode_time_window: 30,
        auto_observe: ['/3303/0/5700', '3/0'],
        update_msg_publish_condition: 'contains_object_list',
        mountpoint: 'lw/${clientid}/',
        translators: {
          command: { topic: 'c/#', qos: 1 },
          response: { topic: 'r', qos: 2 },
          notify: { topic: 'n', qos: 1 },
          register: { topic: 'reg', qos: 1 },
          update: { topic: 'upd', qos: 1 },
          deregister: { topic: 'dereg', qos: 1 },
          send: { topic: 's', qos: 2 },
          firmware: { topic: 'up/firmware', qos: 0 },
          software: { topic: 'up/software', qos: 0 },
          bootstrap: { topic: 'up/bootstrap', qos: 0 },
          telemetry: { topic: 'telemetry/${tenant}/${device_id}', qos: 0 },
          attributes: { topic: 'attributes/${tenant}/${device_id}', qos: 0 },
          status: { topic: 'status/${tenant}/${device_id}', qos: 0 },
        },
        coap: { ack_timeout: 1.5, ack_random_factor: 1, max_retransmit: 2 },
        blockwise: {
          enable: false,
          max_block_size: 256,
          max_body_size: 65536,
          exchange_lifetime: 120,
          max_pending_bytes: 67108864,
          max_pending_bytes_per_source: 8388608,
        },
        keys: { batteryLevel: '/3/0/9', temperature: '/3303/0/5700' },
        max_queued_commands: 100,
        max_command_size: 1048576,
        max_endpoint_length: 256,
        max_object_links: 1024,
        max_registrations: 100000,
        registration_rate: { per_source: 100, burst: 1000 },
        secret_query_keys: ['pass', 'pwd', 'secret', 'token', 'key', 'psk', 'auth'],
      },
      listeners: {
        udp: { enable: true, bind: { host: '::', port: 5683 }, enable_authn: false, recbuf: 8388608 },
        dtls: {
          enable: true,
          bind: { host: '0.0.0.0', port: 15684 },
          enable_authn: false,
          psk_file: '/psk.txt',
          certfile: '/server.pem',
          keyfile: '/server.key',
          cacertfile: '/ca.pem',
          verify: 'verify_peer',
          ciphers: ['TLS_PSK_WITH_AES_128_CCM_8'],
          session_timeout: 3600,
          max_sessions: 50,
          max_handshakes: 10000,
          max_handshakes_per_source: 100,
        },
        bootstrap_udp: { enable: false, bind: { host: '0.0.0.0', port: 5783 }, recbuf: undefined },
        bootstrap_dtls: {
          enable: false,
          bind: { host: '0.0.0.0', port: 5784 },
          psk_file: undefined,
          certfile: undefined,
          keyfile: undefined,
          cacertfile: undefined,
          verify: 'verify_none',
          ciphers: undefined,
          session_timeout: 600,
          max_sessions: 100000,
          max_handshakes: 10000,
          max_handshakes_per_source: 100,
        },
      },
      bootstrap: {
        config_file: undefined,
        http: { url: '', method: 'post', headers: {}, body: {}, timeout: 5, max_in_flight: 100, max_in_flight_per_source: 20 },
        on_dm_listeners: true,
        session_timeout: 60,
        max_sessions: 1000,
        request_rate: { per_source: 10, burst: 100 },
        max_provisioned: 1000000,
        allow_keys_over_udp: false,
      },
      firmware: {
        dir: '',
        max_image_size: 64 * 1024 * 1024,
        max_images: 1000,
        job_timeout: 3600,
        poll_interval: 10,
        max_jobs: 10000,
        public_host: '',
        http: { enable: false, bind: { host: '0.0.0.0', port: 8090 }, public_url: '', certfile: undefined, keyfile: undefined, max_connections: 1000, max_connections_per_source: 8 },
      },
      auth: {
        http: {
          url: 'http://127.0.0.1:8000/auth',
          method: 'get',
          headers: { 'x-api-key': 'k' },
          body: { ep: '${endpoint_name}', n: 1 },
          timeout: 3,
          max_in_flight: 100,
          max_in_flight_per_source: 20,
        },
      },
      http: {
        enable: true,
        bind: { host: '0.0.0.0', port: 18080 },
        api_keys: [],
        certfile: undefined,
        keyfile: undefined,
        metrics_auth: false,
        auth_failures_per_minute: 10,
        command_timeout: 30,
        max_body_size: 65536,
        events: { max_consumers: 32, max_buffered: 1048576 },
      },
      store: { type: 'redis', dir: '/var/lib/gw', url: 'rediss://:pw@redis.example:6380/2', sync_interval: 0.5, key_prefix: 'gw1:', instance: 'gw-1.eu' },
      profiles: [],
      profiles_file: undefined,
      log: { level: 'debug' },
    };
    expect(parseConfig(text)).toEqual(expected);
  });

  it('auto_observe may be true', () => {
    expect(parseConfig('lwm2m: { auto_observe: true }').lwm2m.auto_observe).toBe(true);
  });
});

describe('refused', () => {
  it.each([
    ['mqttt: {}', 'mqttt'],
    ['mqtt: { user: x }', 'mqtt.user'],
    ['lwm2m:\n  translators:\n    notfy: { topic: x }', 'lwm2m.translators.notfy'],
    ['lwm2m:\n  translators:\n    notify: { topic: x, qos: 0, retain: true }', 'lwm2m.translators.notify.retain'],
    ['lwm2m: { coap: { ack_timeout: 2, nstart: 1 } }', 'lwm2m.coap.nstart'],
    ['lwm2m: { mheaders_ttl_default: 7200 }', 'lwm2m.mheaders_ttl_default'],
    ['listeners: { tcp: {} }', 'listeners.tcp'],
    ['listeners: { dtls: { psk: x } }', 'listeners.dtls.psk'],
    ['auth: { http: { uri: x } }', 'auth.http.uri'],
    ['bootstrap: { config_fil: x }', 'bootstrap.config_fil'],
    ['listeners: { bootstrap_dtls: { enable_authn: true } }', 'listeners.bootstrap_dtls.enable_authn'],
  ])('a misspelt key: %p', (text, key) => {
    expect(refused(text, key)).toBe(`${key}: unknown key`);
  });

  it.each([
    ['mqtt: { clean: "yes" }', 'mqtt.clean', /must be true or false/],
    ['lwm2m: { lifetime_min: [1] }', 'lwm2m.lifetime_min', /must be a duration/],
    ['lwm2m: { mountpoint: 5 }', 'lwm2m.mountpoint', /must be a string/],
    ['lwm2m: { auto_observe: "yes" }', 'lwm2m.auto_observe', /must be true or false or a list/],
    ['lwm2m: { keys: [] }', 'lwm2m.keys', /must be a mapping/],
    ['lwm2m: { coap: { max_retransmit: 1.5 } }', 'lwm2m.coap.max_retransmit', /must be an integer/],
    ['listeners: { udp: { recbuf: "8 MB" } }', 'listeners.udp.recbuf', /must be a size: bytes or a string such as "64KB"/],
    ['lwm2m: { max_command_size: 1.5 }', 'lwm2m.max_command_size', /must be a size/],
    ['auth: { http: { headers: { a: 1 } } }', 'auth.http.headers.a', /must be a string/],
    ['log: 3', 'log', /must be a mapping/],
  ])('a wrong type: %p', (text, key, message) => {
    expect(refused(text, key)).toMatch(message);
  });

  it('a document that is not a mapping', () => {
    expect(() => parseConfig('- a\n- b\n')).toThrow(/must be a YAML mapping/);
  });

  it.each([
    ['lwm2m: { update_msg_publish_condition: sometimes }', 'lwm2m.update_msg_publish_condition', 'must be one of "always", "contains_object_list"'],
    ['log: { level: loud }', 'log.level', 'must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent"'],
    ['lwm2m: { translators: { notify: { qos: 3 } } }', 'lwm2m.translators.notify.qos', 'must be one of 0, 1, 2'],
    ['lwm2m: { blockwise: { max_block_size: 100 } }', 'lwm2m.blockwise.max_block_size', 'must be one of 16, 32, 64, 128, 256, 512, 1024'],
    ['auth: { http: { method: put } }', 'auth.http.method', 'must be one of "get", "post"'],
    ['listeners: { dtls: { verify: maybe } }', 'listeners.dtls.verify', 'must be one of "verify_peer", "verify_none"'],
  ])('a bad enum value: %p', (text, key, message) => {
    expect(refused(text, key)).toBe(`${key}: ${message}`);
  });

  it.each([
    ['lwm2m: { lifetime_min: 0 }', 'lwm2m.lifetime_min', 'must be >= 1'],
    ['lwm2m: { lifetime_max: 0s }', 'lwm2m.lifetime_max', 'must be >= 1'],
    ['lwm2m: { lifetime_min: 1500ms }', 'lwm2m.lifetime_min', 'must be a whole number of seconds'],
    ['lwm2m: { coap: { ack_random_factor: 0.5 } }', 'lwm2m.coap.ack_random_factor', 'must be >= 1'],
    ['lwm2m: { coap: { ack_timeout: 0 } }', 'lwm2m.coap.ack_timeout', 'must be > 0'],
    ['lwm2m: { blockwise: { max_body_size: 8 } }', 'lwm2m.blockwise.max_body_size', 'must be >= 16'],
    ['mqtt: { keepalive: 70000 }', 'mqtt.keepalive', 'must be <= 65535'],
    ['mqtt: { keepalive: -1 }', 'mqtt.keepalive', 'must be >= 0'],
    ['mqtt: { reconnect_period: 0 }', 'mqtt.reconnect_period', 'must be > 0'],
    ['listeners: { dtls: { max_sessions: 0 } }', 'listeners.dtls.max_sessions', 'must be >= 1'],
  ])('a value out of range: %p', (text, key, message) => {
    expect(refused(text, key)).toBe(`${key}: ${message}`);
  });

  it.each([
    ['lwm2m: { qmode_time_window: 5 minutes }', 'lwm2m.qmode_time_window'],
    ['auth: { http: { timeout: 1.5s } }', 'auth.http.timeout'],
    ['lwm2m: { blockwise: { exchange_lifetime: 5w } }', 'lwm2m.blockwise.exchange_lifetime'],
  ])('a bad duration: %p', (text, key) => {
    expect(refused(text, key)).toMatch(/must be a duration: seconds or a string such as "22s"/);
  });

  it('hardening limits that contradict each other or leave nothing to listen', () => {
    expect(refused('lwm2m: { blockwise: { max_pending_bytes: 1000, max_pending_bytes_per_source: 2000 } }', 'lwm2m.blockwise.max_pending_bytes_per_source')).toBe(
      'lwm2m.blockwise.max_pending_bytes_per_source: must be <= lwm2m.blockwise.max_pending_bytes',
    );
    expect(refused('listeners: { udp: { enable: false } }', 'listeners.udp.enable')).toMatch(/no listener left/);
    expect(refused('lwm2m: { max_queued_commands: 0 }', 'lwm2m.max_queued_commands')).toMatch(/must be >= 1/);
    expect(refused('lwm2m: { registration_rate: { per_source: 0 } }', 'lwm2m.registration_rate.per_source')).toMatch(/must be > 0/);
    expect(parseConfig('lwm2m: { secret_query_keys: [ApiKey] }').lwm2m.secret_query_keys).toEqual(['apikey']);
  });

  it('bootstrap: a listener without a configuration source, a bad hook URL, a DTLS listener without credentials', () => {
    expect(refused('listeners: { bootstrap_udp: { enable: true } }', 'listeners.bootstrap_udp.enable')).toBe(
      'listeners.bootstrap_udp.enable: a bootstrap listener needs bootstrap.config_file or bootstrap.http.url',
    );
    expect(refused('bootstrap: { http: { url: "ftp://x" } }', 'bootstrap.http.url')).toMatch(/http:\/\/ or https:\/\//);
    expect(refused('bootstrap: { config_file: bs.yaml }\nlisteners: { bootstrap_dtls: { enable: true } }', 'listeners.bootstrap_dtls.psk_file')).toMatch(/no credentials/);
    expect(refused('bootstrap: { session_timeout: 2h }', 'bootstrap.session_timeout')).toBe('bootstrap.session_timeout: must be <= 3600');
    const on = parseConfig('bootstrap: { config_file: bs.yaml, session_timeout: 30s }\nlisteners: { bootstrap_udp: { enable: true, bind: ":5783" } }');
    expect(on.bootstrap).toMatchObject({ config_file: 'bs.yaml', session_timeout: 30, on_dm_listeners: true });
    expect(on.listeners.bootstrap_udp).toEqual({ enable: true, bind: { host: '0.0.0.0', port: 5783 }, recbuf: undefined });
  });

  it('lifetime_min > lifetime_max', () => {
    expect(refused('lwm2m: { lifetime_min: 1h, lifetime_max: 10m }', 'lwm2m.lifetime_min')).toBe(
      'lwm2m.lifetime_min: must be <= lwm2m.lifetime_max (3600 > 600)',
    );
    expect(parseConfig('lwm2m: { lifetime_min: 600, lifetime_max: 10m }').lwm2m.lifetime_min).toBe(600);
  });

  it.each([
    ['http: { bind: "localhost" }', 'http.bind'],
    ['http: { bind: "1.2.3.4:" }', 'http.bind'],
    ['http: { bind: "1.2.3.4:99999" }', 'http.bind'],
    ['http: { bind: 70000 }', 'http.bind'],
    ['embedded_broker: { bind: "::1:1883" }', 'embedded_broker.bind'],
    ['listeners: { udp: { bind: "[nope]:5683" } }', 'listeners.udp.bind'],
    ['listeners: { dtls: { bind: true } }', 'listeners.dtls.bind'],
  ])('a bad bind: %p', (text, key) => {
    refused(text, key);
  });

  it.each([
    ['lwm2m: { auto_observe: ["/3/0", "x"] }', 'lwm2m.auto_observe[1]'],
    ['lwm2m: { keys: { battery: "/3/0/x" } }', 'lwm2m.keys.battery'],
  ])('a bad LwM2M path: %p', (text, key) => {
    expect(refused(text, key)).toMatch(/must be an LwM2M path/);
  });

  it.each([
    ['mqtt: { url: "broker:1883" }', 'mqtt.url'],
    ['mqtt: { url: "http://broker" }', 'mqtt.url'],
    ['mqtt: { clean: false }', 'mqtt.client_id'],
    ['mqtt: { cert_file: /a.pem }', 'mqtt.key_file'],
    ['mqtt: { key_file: /a.key }', 'mqtt.cert_file'],
    ['auth: { http: { url: "ftp://x" } }', 'auth.http.url'],
  ])('inconsistent values: %p', (text, key) => {
    refused(text, key);
  });

  it('a YAML syntax error names the line', () => {
    expect(() => parseConfig('log:\n  level: info\nlwm2m: [1\nhttp: {}\n', 'my.yaml')).toThrow(/^my\.yaml:4: YAML syntax error: /);
    expect(() => parseConfig('log: {}\nlog: {}\n', 'my.yaml')).toThrow(/^my\.yaml:2: YAML syntax error: Map keys must be unique/);
  });

  it('the source prefixes the message', () => {
    expect(() => parseConfig('log: { level: loud }', 'gw.yaml')).toThrow(/^gw\.yaml: log\.level: must be one of/);
  });
});

describe('sizes', () => {
  it('every byte-sized key takes bytes or "KB", "MB", "GB" (powers of 1024) as EMQX writes them', () => {
    const c = parseConfig(
      'lwm2m:\n  max_command_size: 64KB\n  blockwise: { max_body_size: 4MB, max_pending_bytes: 1GB, max_pending_bytes_per_source: "512mb" }\nlisteners:\n  udp: { recbuf: "2048" }\n',
    );
    expect(c.lwm2m.max_command_size).toBe(65536);
    expect(c.lwm2m.blockwise).toMatchObject({ max_body_size: 4194304, max_pending_bytes: 1073741824, max_pending_bytes_per_source: 536870912 });
    expect(c.listeners.udp.recbuf).toBe(2048);
    expect(parseConfig('lwm2m: { max_command_size: 2000 }').lwm2m.max_command_size).toBe(2000);
  });

  it.each([
    ['lwm2m: { max_command_size: 63 }', 'lwm2m.max_command_size', 'must be >= 64'],
    ['lwm2m: { blockwise: { max_body_size: 0KB } }', 'lwm2m.blockwise.max_body_size', 'must be >= 16'],
    ['lwm2m: { blockwise: { max_pending_bytes: 8 } }', 'lwm2m.blockwise.max_pending_bytes', 'must be >= 16'],
    ['listeners: { udp: { recbuf: 0 } }', 'listeners.udp.recbuf', 'must be >= 1'],
    ['lwm2m: { max_command_size: 99999999999GB }', 'lwm2m.max_command_size', 'invalid size: "99999999999GB" is too large'],
  ])('out of range: %p', (text, key, message) => {
    expect(refused(text, key)).toBe(`${key}: ${message}`);
  });

  it.each(['4 MB', '4Mb', '4MiB', '4M', '4B', '-1', '1.5KB'])('refuses %p', (size) => {
    expect(refused(`lwm2m: { max_command_size: "${size}" }`, 'lwm2m.max_command_size')).toMatch(/must be a size/);
  });
});

describe('lwm2m.mountpoint placeholders', () => {
  it.each(['lwm2m/${endpoint_name}/', '${clientid}/${username}/', 'site/${peerhost}/', 't/${client_attrs.tenant}/${endpoint_name}/', 'fixed/', '$share-free/'])(
    'accepts %p',
    (mountpoint) => {
      expect(parseConfig(`lwm2m: { mountpoint: "${mountpoint}" }`).lwm2m.mountpoint).toBe(mountpoint);
    },
  );

  it.each([
    ['lwm2m/${endpoint}/', '${endpoint}'],
    ['lwm2m/${endpoint-name}/', '${endpoint-name}'],
    ['lwm2m/${ endpoint_name }/', '${ endpoint_name }'],
    ['lwm2m/${client_attrs.}/', '${client_attrs.}'],
    ['lwm2m/${Endpoint_Name}/', '${Endpoint_Name}'],
  ])('refuses %p: every device would share one literal topic', (mountpoint, placeholder) => {
    expect(refused(`lwm2m: { mountpoint: "${mountpoint}" }`, 'lwm2m.mountpoint')).toBe(
      `lwm2m.mountpoint: unknown placeholder ${placeholder} (known: \${endpoint_name}, \${clientid}, \${username}, \${peerhost}, \${device_id}, \${client_attrs.NAME})`,
    );
  });

  it('names every unknown placeholder once', () => {
    expect(refused('lwm2m: { mountpoint: "${ep}/${id}/${ep}/" }', 'lwm2m.mountpoint')).toMatch(/^lwm2m\.mountpoint: unknown placeholders \$\{ep\}, \$\{id\} \(known: /);
  });
});

describe('every problem at once', () => {
  const text = [
    'mqtt:',
    '  clean: "yes"',
    '  keepalive: -1',
    'lwm2m:',
    '  lifetime_mn: 10',
    '  mountpoint: "lwm2m/${endpoint}/"',
    '  blockwise: { max_body_size: 8 }',
    'listeners:',
    '  dtls: { enable: true, ciphers: [TLS_NULL] }',
    'http: { bind: "localhost" }',
  ].join('\n');

  it('lists each bad key on its own line, in the order of the file', () => {
    let error: ConfigError | undefined;
    try {
      parseConfig(text, 'gateway.yaml');
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.message).toBe(
      [
        'gateway.yaml: 8 errors:',
        '  gateway.yaml: mqtt.clean: must be true or false',
        '  gateway.yaml: mqtt.keepalive: must be >= 0',
        '  gateway.yaml: lwm2m.lifetime_mn: unknown key',
        '  gateway.yaml: lwm2m.mountpoint: unknown placeholder ${endpoint} (known: ${endpoint_name}, ${clientid}, ${username}, ${peerhost}, ${device_id}, ${client_attrs.NAME})',
        '  gateway.yaml: lwm2m.blockwise.max_body_size: must be >= 16',
        '  gateway.yaml: listeners.dtls.psk_file: the DTLS listener is enabled but has no credentials: set psk_file, or certfile and keyfile',
        `  gateway.yaml: listeners.dtls.ciphers[0]: unsupported cipher suite "TLS_NULL" (supported: ${DEFAULT_CIPHERS.join(', ')})`,
        '  gateway.yaml: http.bind: must be a bind address such as "0.0.0.0:5683", "[::]:5683", ":5683" or a port',
      ].join('\n'),
    );
    // Each problem is a ConfigError of its own; the combined one carries the first's key.
    expect(error?.errors.map((e) => e.key)).toEqual([
      'mqtt.clean',
      'mqtt.keepalive',
      'lwm2m.lifetime_mn',
      'lwm2m.mountpoint',
      'lwm2m.blockwise.max_body_size',
      'listeners.dtls.psk_file',
      'listeners.dtls.ciphers[0]',
      'http.bind',
    ]);
    expect(error?.key).toBe('mqtt.clean');
    expect(error?.errors.every((e) => e.source === 'gateway.yaml' && e.errors.length === 1)).toBe(true);
  });

  it('a single problem keeps the one-line message', () => {
    expect(() => parseConfig('lwm2m:\n  lifetime_mn: 10\n', 'gateway.yaml')).toThrow(/^gateway\.yaml: lwm2m\.lifetime_mn: unknown key$/);
  });

  it('a refused value adds no problems that only follow from it', () => {
    // The refused value is replaced by its default for the code checks, and rules that read it are skipped.
    refused('lwm2m: { lifetime_min: "soon", lifetime_max: 10 }', 'lwm2m.lifetime_min');
    refused('lwm2m: { blockwise: { max_pending_bytes: lots, max_pending_bytes_per_source: 1GB } }', 'lwm2m.blockwise.max_pending_bytes');
    refused('mqtt: { clean: nope }', 'mqtt.clean');
    refused('listeners: { udp: { enable: false }, dtls: { enable: "yes" } }', 'listeners.dtls.enable');
    refused('lwm2m: { lifetime_max: 0 }', 'lwm2m.lifetime_max'); // not also "lifetime_min must be <= lifetime_max"
    refused('lwm2m: { auto_observe: ["/3/0", "x"] }', 'lwm2m.auto_observe[1]');
  });

  it('reports several items of one list, and several unknown keys of one section', () => {
    try {
      parseConfig('lwm2m: { auto_observe: ["x", "/3/0", "y"] }\nmqtt: { user: a, pass: b }\n');
      throw new Error('accepted');
    } catch (err) {
      expect((err as ConfigError).errors.map((e) => e.key)).toEqual(['lwm2m.auto_observe[0]', 'lwm2m.auto_observe[2]', 'mqtt.user', 'mqtt.pass']);
      expect((err as ConfigError).message).toMatch(/^4 errors:\n {2}lwm2m\.auto_observe\[0\]: must be an LwM2M path/);
    }
  });

  it('reports every YAML syntax error with its line', () => {
    expect(() => parseConfig('a: [\nb: {\n', 'my.yaml')).toThrow(/^my\.yaml: 2 errors:\n {2}my\.yaml:2: YAML syntax error: .*\n {2}my\.yaml:3: YAML syntax error: /);
  });
});

describe('store', () => {
  const store = (text: string) => parseConfig(`store:\n${text}`).store;
  const SECRET = 'hunter2';

  it('takes each type', () => {
    expect(store('  type: memory\n')).toEqual({ type: 'memory', dir: 'data', sync_interval: 1, key_prefix: 'lwm2m:' });
    expect(store('  type: embedded\n  dir: ./state\n  sync_interval: 250ms\n')).toMatchObject({ type: 'embedded', dir: './state', sync_interval: 0.25 });
    expect(store('  type: redis\n  url: redis://redis:6379\n  key_prefix: ""\n')).toEqual({
      type: 'redis',
      dir: 'data',
      url: 'redis://redis:6379',
      sync_interval: 1,
      key_prefix: '',
    });
    expect(store('  { type: redis, url: "rediss://gw:pw@redis.example" }').url).toBe('rediss://gw:pw@redis.example');
    expect(store('  sync_interval: 10s\n').sync_interval).toBe(10);
  });

  it('takes an instance name of letters, digits and ._:- only (it is part of what instances share)', () => {
    expect(store('  type: redis\n  url: redis://r\n  instance: gw-a:1.eu_2\n').instance).toBe('gw-a:1.eu_2');
    expect(store('  type: memory\n').instance).toBeUndefined();
    expect(() => store('  instance: "gw a"\n')).toThrow(/store\.instance/);
    expect(() => store('  instance: ""\n')).toThrow(/store\.instance/);
  });

  it('keeps dir as written: a relative path is taken from the working directory, like psk_file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-store-'));
    try {
      const file = path.join(dir, 'gw.yaml');
      fs.writeFileSync(file, 'store:\n  dir: state\nlisteners:\n  dtls: { psk_file: psk.yaml }\n');
      const config = loadConfigFile(file);
      expect(config.store.dir).toBe('state');
      expect(config.listeners.dtls.psk_file).toBe('psk.yaml');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an empty url counts as absent', () => {
    expect(store('  url: ""\n').url).toBeUndefined();
    expect(refused('store: { type: redis, url: "" }', 'store.url')).toBe('store.url: required when store.type is redis (a redis:// or rediss:// URL)');
  });

  it.each([
    ['store: { uri: "redis://x" }', 'store.uri', 'store.uri: unknown key'],
    ['store: { type: mysql }', 'store.type', 'store.type: must be one of "embedded", "memory", "redis"'],
    ['store: { dir: 5 }', 'store.dir', 'store.dir: must be a string'],
    ['store: { dir: "" }', 'store.dir', 'store.dir: must NOT have fewer than 1 characters'],
    ['store: { url: 6379 }', 'store.url', 'store.url: must be a string'],
    ['store: { key_prefix: [a] }', 'store.key_prefix', 'store.key_prefix: must be a string'],
    ['store: { sync_interval: soon }', 'store.sync_interval', 'store.sync_interval: must be a duration: seconds or a string such as "22s", "5m", "250ms"'],
    ['store: { sync_interval: 0 }', 'store.sync_interval', 'store.sync_interval: must be > 0'],
    ['store: { sync_interval: 11s }', 'store.sync_interval', 'store.sync_interval: must be <= 10'],
    ['store: { sync_interval: 1m }', 'store.sync_interval', 'store.sync_interval: must be <= 10'],
    ['store: redis', 'store', 'store: must be a mapping (key: value)'],
    ['store: { type: redis }', 'store.url', 'store.url: required when store.type is redis (a redis:// or rediss:// URL)'],
    ['store: { type: redis, url: "http://redis:6379" }', 'store.url', 'store.url: must be a URL such as redis://host:6379 or rediss://host:6380 (got "http://redis:6379")'],
    ['store: { type: redis, url: "redis:6379" }', 'store.url', 'store.url: must be a URL such as redis://host:6379 or rediss://host:6380 (got "redis:6379")'],
    ['store: { type: redis, url: "redis://" }', 'store.url', 'store.url: must be a URL such as redis://host:6379 or rediss://host:6380 (got "redis://")'],
  ])('refuses %p', (text, key, message) => {
    expect(refused(text, key)).toBe(message);
  });

  it('a refused type adds no problem about the url', () => {
    expect(refused('store: { type: Redis }', 'store.type')).toMatch(/must be one of/);
  });

  it.each([
    `http://gw:${SECRET}@redis:6379`,
    `redis//gw:${SECRET}@redis`,
    `redis://:${SECRET}@`,
    `ftp://:p@ss${SECRET}@redis:6379/0`,
    `redis+tcp://${SECRET}@redis`,
    `${SECRET}@redis:6379`,
    `http://redis:6379/?password=${SECRET}`,
  ])('never shows the password of a refused url: %p', (url) => {
    const message = refused(`store: { type: redis, url: "${url}" }`, 'store.url');
    expect(message).toMatch(/^store\.url: must be a URL such as redis:\/\/host:6379/);
    expect(message).not.toContain(SECRET);
    expect(message).toContain('***');
  });

  it.each([
    ['redis://gw:pw@redis:6379/0', 'redis://gw:***@redis:6379/0'],
    ['rediss://:pw@redis', 'rediss://:***@redis'],
    ['redis://pw@redis', 'redis://***@redis'],
    ['redis://gw:p@w:d@redis', 'redis://gw:***@redis'],
    ['redis://gw:p/w@redis/1', 'redis://gw:***@redis/1'],
    ['redis://redis:6379/0', 'redis://redis:6379/0'],
    ['redis://redis?db=1&password=pw&x=1', 'redis://redis?db=1&password=***&x=1'],
    ['gw:pw@redis', 'gw:***@redis'],
  ])('maskUrlPassword(%p)', (url, masked) => {
    expect(maskUrlPassword(url)).toBe(masked);
  });

  it('reports every store problem at once, with the others', () => {
    try {
      parseConfig('mqtt: { clean: "no" }\nstore:\n  type: redis\n  uri: redis://x\n  sync_interval: 20s\n  key_prefix: 1\n', 'gw.yaml');
      throw new Error('accepted');
    } catch (err) {
      // The missing url is listed where its section is written, before the keys written in it.
      expect((err as ConfigError).errors.map((e) => e.message)).toEqual([
        'gw.yaml: mqtt.clean: must be true or false',
        'gw.yaml: store.url: required when store.type is redis (a redis:// or rediss:// URL)',
        'gw.yaml: store.uri: unknown key',
        'gw.yaml: store.sync_interval: must be <= 10',
        'gw.yaml: store.key_prefix: must be a string',
      ]);
    }
  });

  describe('warnings', () => {
    const warnings = (text: string) => configWarnings(parseConfig(text));

    it('none for the defaults, a redis store, or a sync_interval of at most 1s', () => {
      expect(warnings('')).toEqual([]);
      expect(warnings(`store: { type: redis, url: "redis://gw:${SECRET}@redis" }`)).toEqual([]);
      expect(warnings('store: { sync_interval: 1s }')).toEqual([]);
      expect(warnings('store: { sync_interval: 100ms }')).toEqual([]);
    });

    it('a url that the type does not use, without showing it', () => {
      const list = warnings(`store: { url: "redis://gw:${SECRET}@redis" }`);
      expect(list).toEqual(['store.url: ignored: store.type is embedded (only redis uses a URL)']);
      expect(warnings(`store: { type: memory, url: "redis://:${SECRET}@redis" }`)).toEqual(['store.url: ignored: store.type is memory (only redis uses a URL)']);
      expect(list.join('\n')).not.toContain(SECRET);
    });

    it('an embedded store synced less often than every second', () => {
      expect(warnings('store: { sync_interval: 5s }')).toEqual([
        'store.sync_interval: 5s is above 1s: a crash can lose the changes of the last 5s, not only of the last second',
      ]);
      expect(warnings('store: { sync_interval: 1500ms }')).toHaveLength(1);
      expect(warnings('store: { type: memory, sync_interval: 5s }')).toEqual([]);
    });
  });
});

describe('parseBind', () => {
  it.each([
    ['0.0.0.0:5683', { host: '0.0.0.0', port: 5683 }],
    ['127.0.0.1:1883', { host: '127.0.0.1', port: 1883 }],
    ['[::]:5683', { host: '::', port: 5683 }],
    ['[::1]:8080', { host: '::1', port: 8080 }],
    [':5683', { host: '0.0.0.0', port: 5683 }],
    ['5683', { host: '0.0.0.0', port: 5683 }],
    [5683, { host: '0.0.0.0', port: 5683 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
  ])('%p', (input, bind) => {
    expect(parseBind(input, 'x.bind')).toEqual(bind);
  });
});

describe('loadConfigFile', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-config-'));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an empty file gives every default', () => {
    const file = path.join(dir, 'empty.yaml');
    fs.writeFileSync(file, '');
    expect(loadConfigFile(file)).toEqual(defaultConfig());
  });

  it('a missing file is a ConfigError naming it', () => {
    const file = path.join(dir, 'missing.yaml');
    expect(() => loadConfigFile(file)).toThrow(ConfigError);
    expect(() => loadConfigFile(file)).toThrow(`${file}: no such file`);
  });

  it('names the file in validation errors', () => {
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, 'lwm2m:\n  lifetime_min: 0\n');
    expect(() => loadConfigFile(file)).toThrow(`${file}: lwm2m.lifetime_min: must be >= 1`);
  });

  it('the gateway.yaml at the repository root equals the defaults', () => {
    expect(loadConfigFile(path.join(REPO_ROOT, 'gateway.yaml'))).toEqual(defaultConfig());
  });

  it('the gateway.yaml at the repository root sets every defaulted key explicitly', () => {
    // Each default written out (not merely left to the schema), so that the file documents them all.
    const text = fs.readFileSync(path.join(REPO_ROOT, 'gateway.yaml'), 'utf8');
    const keys = [
      'clean', 'keepalive', 'reconnect_period', 'reject_unauthorized', 'lifetime_min', 'lifetime_max',
      'qmode_time_window', 'auto_observe', 'update_msg_publish_condition', 'mountpoint', 'command', 'response',
      'notify', 'register', 'update', 'deregister', 'send', 'ack_timeout', 'ack_random_factor', 'max_retransmit',
      'enable', 'max_block_size', 'max_body_size', 'exchange_lifetime', 'keys', 'enable_authn', 'verify',
      'session_timeout', 'max_sessions', 'url', 'method', 'headers', 'body', 'timeout', 'bind', 'level',
      'metrics_auth', 'auth_failures_per_minute', 'command_timeout', 'max_consumers', 'max_buffered',
    ];
    for (const key of keys) expect(text).toMatch(new RegExp(`^\\s*${key}:`, 'm'));
    expect(text).not.toMatch(/^\s*url: mqtt/m);
  });
});

describe('http (the management plane)', () => {
  it('defaults: on, loopback 8080, no keys, 30 s commands, 64 KiB bodies, 32 streams of 1 MiB', () => {
    const http = parseConfig('').http;
    expect(http).toMatchObject({ enable: true, bind: { host: '127.0.0.1', port: 8080 }, api_keys: [], metrics_auth: false, auth_failures_per_minute: 10 });
    expect(http.command_timeout).toBe(30);
    expect(http.max_body_size).toBe(65536);
    expect(http.events).toEqual({ max_consumers: 32, max_buffered: 1048576 });
  });

  it('takes keys, TLS files, durations and sizes as written', () => {
    const http = parseConfig(
      'http:\n  bind: "0.0.0.0:9090"\n  api_keys:\n    - key: admin\n      secret: "s3cret-pass"\n  certfile: a.pem\n  keyfile: a.key\n  command_timeout: 2m\n  max_body_size: 1MB\n  events:\n    max_buffered: 64KB\n',
    ).http;
    expect(http).toMatchObject({ bind: { host: '0.0.0.0', port: 9090 }, api_keys: [{ key: 'admin', secret: 's3cret-pass' }], certfile: 'a.pem', keyfile: 'a.key', command_timeout: 120, max_body_size: 1048576 });
    expect(http.events.max_buffered).toBe(65536);
  });

  it('names every bad key: a lone certfile, a duplicate key, a short secret, a key with a colon, zero consumers', () => {
    const text = [
      'http:',
      '  certfile: a.pem',
      '  api_keys:',
      '    - key: admin',
      '      secret: "s3cret-pass"',
      '    - key: admin',
      '      secret: "an0ther-pass"',
      '  events:',
      '    max_consumers: 0',
    ].join('\n');
    expect(() => parseConfig(text)).toThrow(/http\.events\.max_consumers: must be >= 1/);
    expect(() => parseConfig('http:\n  certfile: a.pem\n')).toThrow(/http\.keyfile: http\.certfile and http\.keyfile go together/);
    expect(() => parseConfig('http:\n  api_keys:\n    - { key: admin, secret: "s3cret-pass" }\n    - { key: admin, secret: "an0ther-pass" }\n')).toThrow(/http\.api_keys\[1\]\.key: duplicate key "admin"/);
    expect(() => parseConfig('http:\n  api_keys:\n    - { key: admin, secret: short }\n')).toThrow(/http\.api_keys\[0\]\.secret/);
    expect(() => parseConfig('http:\n  api_keys:\n    - { key: "ad:min", secret: "s3cret-pass" }\n')).toThrow(/http\.api_keys\[0\]\.key/);
    expect(() => parseConfig('http:\n  command_timeout: 0\n')).toThrow(/http\.command_timeout/);
  });

  it('checks profiles with the rest, naming each bad key; profiles and profiles_file not both; profile topics', () => {
    const text = [
      'profiles:',
      '  - name: a',
      '    telemetry: { /3/0: battery }',
      '    rpc: { reboot: { execute: /3 } }',
      'profiles_file: p.yaml',
      'lwm2m:',
      '  translators:',
      '    telemetry: { topic: "t/${nope}" }',
      '    status: { topic: "s/+/${device_id}" }',
      '  lifetime_min: -1',
    ].join('\n');
    let message = '';
    try {
      parseConfig(text);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/profiles\[0\]\.telemetry\.\/3\/0: must be \/O\/I\/R/);
    expect(message).toMatch(/profiles\[0\]\.rpc\.reboot/);
    expect(message).toMatch(/lwm2m\.translators\.telemetry\.topic: has an unknown placeholder "\$\{nope\}"/);
    expect(message).toMatch(/lwm2m\.translators\.status\.topic: must not contain the MQTT wildcards/);
    expect(message).toMatch(/lwm2m\.lifetime_min/);
    expect(() => parseConfig('profiles:\n  - name: a\nprofiles_file: p.yaml\n')).toThrow(/profiles_file: give the profiles here or in profiles_file, not both/);
    const ok = parseConfig('profiles:\n  - name: a\n    telemetry: { /3/0/9: battery }\n');
    expect(ok.profiles.map((p) => [p.name, [...p.telemetry]])).toEqual([['a', [['/3/0/9', 'battery']]]]);
  });

  it('refuses firmware settings that cannot work, naming each key', () => {
    expect(() => parseConfig('firmware:\n  http:\n    keyfile: k.pem\n')).toThrow(/firmware\.http\.certfile: firmware\.http\.certfile and firmware\.http\.keyfile go together/);
    expect(() => parseConfig('firmware:\n  http:\n    public_url: "ftp://fw.example.com"\n')).toThrow(/firmware\.http\.public_url: must be an http/);
    expect(() => parseConfig('firmware:\n  job_timeout: 0\n  max_jobs: 0\n')).toThrow(/firmware\.job_timeout[\s\S]*firmware\.max_jobs|firmware\.max_jobs[\s\S]*firmware\.job_timeout/);
    expect(parseConfig('firmware:\n  http:\n    public_url: "https://cdn.example.com/lwm2m/"\n').firmware.http.public_url).toBe('https://cdn.example.com/lwm2m/');
  });
});
