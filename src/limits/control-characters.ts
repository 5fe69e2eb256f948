/**
 * Whether a text holds a C0 control character (NUL included), DEL or a C1 control character: never
 * part of a name that ends up in a topic or a log line. A loop, not a regular expression: the names
 * checked are short, and the range reads plainly.
 */
export function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}
