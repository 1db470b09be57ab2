/**
 * Deepest nesting of arrays/objects in a JSON text, counted without recursion and without
 * parsing (brackets inside strings are skipped). A provider callback is 2–3 levels deep;
 * thousands of levels would later break Lua's JSON decoding (Redis cjson stops at 1000)
 * and recursive code, so the ingress refuses them at the door.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
