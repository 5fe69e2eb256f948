import { escapeTopicLevel } from '../mountpoint';
import { parseTemplate, renderTemplate, type Template, type TemplateVocabulary } from './profile-template';

/**
 * The topics of the telemetry, attributes and status translators: whole topics (not under the
 * mountpoint, as platforms ingest them by tenant and device), with `${tenant}`, `${device_id}` and
 * `${endpoint_name}`. Device ids and tenants are checked to be one topic level each (topicLevelProblem);
 * an endpoint name is escaped as the mountpoint escapes it.
 */
const TOPIC_VOCABULARY: TemplateVocabulary = { names: ['tenant', 'device_id', 'endpoint_name'], clientAttrs: false };

/** Why a translator topic cannot be used, or undefined. */
export function profileTopicProblem(topic: string): string | undefined {
  const parsed = parseTemplate(topic, TOPIC_VOCABULARY);
  if ('problem' in parsed) return parsed.problem;
  for (const part of parsed.parts) if ('text' in part && (part.text.includes('+') || part.text.includes('#'))) return 'must not contain the MQTT wildcards + or #';
  if (topic.startsWith('$')) return 'must not start with $ (reserved for the broker)';
  return undefined;
}

/** A checked topic template (see profileTopicProblem; the configuration refuses bad ones). */
export function compileProfileTopic(topic: string): Template {
  const parsed = parseTemplate(topic, TOPIC_VOCABULARY);
  if ('problem' in parsed) throw new Error(`topic ${topic} ${parsed.problem}`);
  return parsed;
}

export function renderProfileTopic(topic: Template, ids: { readonly tenant: string; readonly deviceId: string; readonly endpoint: string }): string {
  return renderTemplate(topic, { names: { tenant: ids.tenant, device_id: ids.deviceId, endpoint_name: escapeTopicLevel(ids.endpoint) } });
}
