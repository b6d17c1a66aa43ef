import { XMLParser, XMLValidator } from "fast-xml-parser";
import { malformedXml } from "./errors.ts";

/** Namespace of S3 response documents. */
export const S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";

/** A value the XML builder turns into elements: objects become child elements, arrays repeat their element. */
export type XmlValue =
  | string
  | number
  | boolean
  | undefined
  | null
  | XmlValue[]
  | { [name: string]: XmlValue };

/**
 * Escapes text for element content. Carriage returns and other control
 * characters are written as character references, because an XML parser
 * would otherwise normalize or reject them and change the key.
 */
export function escapeXml(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this escapes.
  return text.replace(/[&<>"'\u0000-\u0008\u000b-\u001f\u007f]/g, (character) => {
    switch (character) {
      case "&":
        return "&amp;";
      case "<":
        return "&lt;";
      case ">":
        return "&gt;";
      case '"':
        return "&quot;";
      case "'":
        return "&apos;";
      default:
        return `&#${character.charCodeAt(0)};`;
    }
  });
}

function renderElement(name: string, value: XmlValue): string {
  if (value === undefined || value === null) return "";
  if (Array.isArray(value)) return value.map((item) => renderElement(name, item)).join("");
  if (typeof value === "object") {
    const children = Object.entries(value)
      .map(([childName, child]) => renderElement(childName, child))
      .join("");
    return `<${name}>${children}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** Renders an S3 response document with its XML declaration. */
export function renderXml(
  rootName: string,
  content: Record<string, XmlValue>,
  namespace = true,
): string {
  const children = Object.entries(content)
    .map(([name, value]) => renderElement(name, value))
    .join("");
  const attributes = namespace ? ` xmlns="${S3_XMLNS}"` : "";
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${rootName}${attributes}>${children}</${rootName}>`;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  // Keys such as "0001" or "true" must stay strings.
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  isArray: (name) => name === "Object" || name === "Part",
});

/** Parses a request document, throwing MalformedXML when it is not well-formed or its root is wrong. */
export function parseXml(text: string, rootName: string): Record<string, unknown> {
  if (text.trim() === "") throw malformedXml("the request body is empty.");
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw malformedXml(`${valid.err.msg} (line ${valid.err.line}).`);
  const document = parser.parse(text) as Record<string, unknown>;
  const root = document[rootName];
  if (root === undefined) throw malformedXml(`the root element must be <${rootName}>.`);
  return typeof root === "object" && root !== null ? (root as Record<string, unknown>) : {};
}
