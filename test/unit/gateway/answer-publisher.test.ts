import pino from 'pino';
import { AnswerPublisher, type MqttLink, type Translator, type TranslatorName } from '../../../src/gateway/answer-publisher';

const TRANSLATORS = Object.fromEntries(
  (['command', 'response', 'notify', 'register', 'update', 'deregister', 'send', 'bootstrap', 'firmware'] as TranslatorName[]).map((name) => [name, { topic: `up/${name}`, qos: 0 }]),
) as Record<TranslatorName, Translator>;

/** Records what is published (a unit test of the text; the MQTT path is tested end to end elsewhere). */
function publisher(): { answers: AnswerPublisher; published: { topic: string; payload: string }[] } {
  const published: { topic: string; payload: string }[] = [];
  const link: MqttLink = { publish: (topic, payload) => void published.push({ topic, payload }), subscribe: async () => undefined, onMessage: () => undefined };
  return { answers: new AnswerPublisher(link, TRANSLATORS, pino({ level: 'silent' })), published };
}

describe('AnswerPublisher: device_id of devices with a profile', () => {
  it('ends every message under the device\'s prefix with "device_id", and only those', () => {
    const { answers, published } = publisher();
    answers.deviceIds.set('lwm2m/a/', 'dev-"a"');
    answers.publish('lwm2m/a/', 'register', { msgType: 'register', data: { ep: 'a' } });
    answers.answer('lwm2m/a/', 'response', { reqID: 1, msgType: 'read', device_id: 'mine' }, 'read', { reqPath: '/3/0/0', code: '2.05', codeMsg: 'content' });
    answers.publish('lwm2m/a/', 'send', '{}');
    answers.publish('lwm2m/b/', 'register', { msgType: 'register', data: { ep: 'b' } });
    expect(published.map((p) => JSON.parse(p.payload) as unknown)).toEqual([
      { msgType: 'register', data: { ep: 'a' }, device_id: 'dev-"a"' },
      // A command's own device_id is echoed; the gateway's comes last and wins in a JSON parser.
      { reqID: 1, msgType: 'read', data: { reqPath: '/3/0/0', code: '2.05', codeMsg: 'content' }, device_id: 'dev-"a"' },
      { device_id: 'dev-"a"' },
      { msgType: 'register', data: { ep: 'b' } },
    ]);
    expect(published[1].payload).toContain('"device_id":"mine"');
  });
});
