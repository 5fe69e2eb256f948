import { CodecError } from './codec-error';

/** CoAP Content-Format numbers used by LwM2M (OMA TS Core, "Data Formats"; IANA CoAP registry). */
export const ContentFormat = {
  TEXT: 0,
  LINK: 40,
  OPAQUE: 42,
  CBOR: 60,
  SENML_JSON: 110,
  SENML_CBOR: 112,
  TLV: 11542,
  OMA_JSON: 11543,
  LWM2M_CBOR: 11544,
  /** Pre-registration numbers still sent by LwM2M 1.0 clients. */
  TLV_LEGACY: 1542,
  OMA_JSON_LEGACY: 1543,
} as const;

export type ContentFormatName = keyof typeof ContentFormat;

const NAME_BY_NUMBER = new Map<number, ContentFormatName>(
  (Object.keys(ContentFormat) as ContentFormatName[]).map((name) => [ContentFormat[name], name]),
);

const MEDIA_TYPES: Record<ContentFormatName, string> = {
  TEXT: 'text/plain',
  LINK: 'application/link-format',
  OPAQUE: 'application/octet-stream',
  CBOR: 'application/cbor',
  SENML_JSON: 'application/senml+json',
  SENML_CBOR: 'application/senml+cbor',
  TLV: 'application/vnd.oma.lwm2m+tlv',
  OMA_JSON: 'application/vnd.oma.lwm2m+json',
  LWM2M_CBOR: 'application/vnd.oma.lwm2m+cbor',
  TLV_LEGACY: 'application/vnd.oma.lwm2m+tlv',
  OMA_JSON_LEGACY: 'application/vnd.oma.lwm2m+json',
};

/** Extra spellings accepted by parseContentFormat (lower case). */
const ALIASES: Record<string, number> = {
  plain: ContentFormat.TEXT,
  'link-format': ContentFormat.LINK,
  json: ContentFormat.OMA_JSON,
  'senml-json': ContentFormat.SENML_JSON,
  'senml+json': ContentFormat.SENML_JSON,
  'senml-cbor': ContentFormat.SENML_CBOR,
  'senml+cbor': ContentFormat.SENML_CBOR,
  'lwm2m-cbor': ContentFormat.LWM2M_CBOR,
  'lwm2m+cbor': ContentFormat.LWM2M_CBOR,
  'oma-json': ContentFormat.OMA_JSON,
};

/** "TLV", "OMA_JSON", ...; the decimal number for formats this gateway has no name for. */
export function contentFormatName(format: number): string {
  return NAME_BY_NUMBER.get(format) ?? String(format);
}

/** The media type ("application/vnd.oma.lwm2m+tlv"), or undefined for an unknown number. */
export function contentFormatMediaType(format: number): string | undefined {
  const name = NAME_BY_NUMBER.get(format);
  return name === undefined ? undefined : MEDIA_TYPES[name];
}

/**
 * Accepts a number (11542), a decimal string ("11542"), a name in any case and with '-' or '_'
 * ("tlv", "senml-json", "OMA_JSON") or a media type ("application/vnd.oma.lwm2m+tlv").
 * Throws CodecError for anything else.
 */
export function parseContentFormat(nameOrNumber: string | number): number {
  if (typeof nameOrNumber === 'number') {
    if (Number.isInteger(nameOrNumber) && nameOrNumber >= 0 && nameOrNumber <= 65535) return nameOrNumber;
    throw new CodecError(`invalid content format ${nameOrNumber}`);
  }
  const text = nameOrNumber.trim();
  if (/^\d{1,5}$/.test(text)) return parseContentFormat(Number(text));
  const lower = text.toLowerCase();
  if (Object.hasOwn(ALIASES, lower)) return ALIASES[lower];
  const upper = text.toUpperCase().replace(/-/g, '_');
  if (Object.hasOwn(ContentFormat, upper)) return ContentFormat[upper as ContentFormatName];
  for (const name of Object.keys(MEDIA_TYPES) as ContentFormatName[]) {
    // The registered number wins over the legacy one for a shared media type (names are in that order).
    if (MEDIA_TYPES[name] === lower) return ContentFormat[name];
  }
  throw new CodecError(`unknown content format "${nameOrNumber}"`);
}
