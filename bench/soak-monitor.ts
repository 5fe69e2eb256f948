/**
 * The attacker's MQTT side and the soak's broker watch: one publisher (the command floods and
 * poisoned commands), one subscriber for the answers of the attacker's devices, every register
 * message (the secrets check) and aedes' `$SYS/<id>/new/clients` and `$SYS/<id>/disconnect/clients`
 * events, which show whether the gateway's own broker connection ever dropped.
 */
import type { MqttClient } from 'mqtt';
import { connectMqtt } from './mqtt-clients';

export type RespHandler = (msg: { reqID?: unknown; msgType?: unknown; data?: { code?: unknown; error?: unknown } }, raw: Buffer) => void;

export class AttackMonitor {
  /** The gateway's MQTT client id (mqtt.client_id in the soak's config). */
  static readonly GATEWAY_CLIENT_ID = 'soak-gateway';
  private readonly resp = new Map<string, RespHandler>();
  private readonly registerHandlers: ((endpoint: string, topic: string, payload: Buffer) => void)[] = [];
  gatewayConnects = 0;
  gatewayDisconnects = 0;
  /** Disconnects of this soak's own MQTT clients (attacker and watcher), closing excluded. */
  ownDrops = 0;
  registerMessages = 0;
  private closing = false;

  private constructor(
    readonly pub: MqttClient,
    readonly sub: MqttClient,
  ) {
    for (const c of [pub, sub]) {
      c.on('close', () => {
        if (!this.closing) this.ownDrops++;
      });
    }
    sub.on('message', (topic, payload) => this.onMessage(topic, payload));
  }

  static async connect(url: string, respEndpoints: string[]): Promise<AttackMonitor> {
    const pub = await connectMqtt(url, 'soak-attack-pub');
    const sub = await connectMqtt(url, 'soak-attack-sub');
    const monitor = new AttackMonitor(pub, sub);
    await sub.subscribeAsync([...respEndpoints.map((ep) => `lwm2m/${ep}/up/resp`), 'lwm2m/+/up/register', 'lwm2m/+/up/update', '$SYS/+/new/clients', '$SYS/+/disconnect/clients'], { qos: 0 });
    return monitor;
  }

  onResp(endpoint: string, handler: RespHandler): void {
    this.resp.set(`lwm2m/${endpoint}/up/resp`, handler);
  }

  /** Every register and update message (endpoint = the topic's second level). */
  onRegister(handler: (endpoint: string, topic: string, payload: Buffer) => void): void {
    this.registerHandlers.push(handler);
  }

  publish(topic: string, payload: string): void {
    this.pub.publish(topic, payload, { qos: 0 });
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic.startsWith('$SYS/')) {
      if (payload.toString() !== AttackMonitor.GATEWAY_CLIENT_ID) return;
      if (topic.endsWith('/new/clients')) this.gatewayConnects++;
      else if (topic.endsWith('/disconnect/clients')) this.gatewayDisconnects++;
      return;
    }
    if (topic.endsWith('/up/register') || topic.endsWith('/up/update')) {
      this.registerMessages++;
      const endpoint = topic.slice('lwm2m/'.length, topic.lastIndexOf('/up/'));
      for (const h of this.registerHandlers) h(endpoint, topic, payload);
      return;
    }
    const handler = this.resp.get(topic);
    if (!handler) return;
    let msg: Parameters<RespHandler>[0];
    try {
      msg = JSON.parse(payload.toString('utf8')) as Parameters<RespHandler>[0];
    } catch {
      msg = {};
    }
    handler(msg, payload);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([this.pub.endAsync(true), this.sub.endAsync(true)]);
  }
}
