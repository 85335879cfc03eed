/**
 * A small XML writer for GeoReport v2's documents (XML is the standard's required format). Values are
 * JSON-like: objects become elements named by their keys, arrays repeat the element their parent's name
 * maps to in `items` (services → service), null is an empty element. Text is escaped and characters
 * XML 1.0 cannot carry are dropped, so a description typed by anyone still gives a well-formed document.
 */
export type XmlValue = string | number | boolean | null | undefined | XmlValue[] | { [key: string]: XmlValue };

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
// XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]; lone surrogates are not characters.
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Escapes text for element content and attribute values, dropping what XML 1.0 cannot represent. */
export function escapeXml(text: string): string {
  return text.replace(NOT_XML_CHAR, '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/**
 * A whole document with the UTF-8 declaration the standard requires.
 * @param root the root element's name, e.g. `services`
 * @param items the element name of each array's entries, by the array's element name
 * @throws {RangeError} naming an element name that is not a valid XML name (a programming error)
 * @example xmlDocument('errors', [{ code: 404, description: 'no such request' }], { errors: 'error' })
 */
export function xmlDocument(root: string, value: XmlValue, items: Readonly<Record<string, string>>): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
  write(out, root, value, items);
  out.push('\n');
  return out.join('');
}

function write(out: string[], name: string, value: XmlValue, items: Readonly<Record<string, string>>): void {
  if (!NAME.test(name)) throw new RangeError(`"${name}" is not an XML element name`);
  if (value === null || value === undefined) {
    out.push(`<${name}/>`);
    return;
  }
  if (Array.isArray(value)) {
    const item = items[name];
    if (!item) throw new RangeError(`no item element name for the list "${name}"`);
    out.push(`<${name}>`);
    for (const v of value) write(out, item, v, items);
    out.push(`</${name}>`);
    return;
  }
  if (typeof value === 'object') {
    out.push(`<${name}>`);
    for (const [k, v] of Object.entries(value)) write(out, k, v, items);
    out.push(`</${name}>`);
    return;
  }
  out.push(`<${name}>${escapeXml(String(value))}</${name}>`);
}
