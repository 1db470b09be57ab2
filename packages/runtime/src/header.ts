/** Headers as Node (and undici) give them: a repeated header is an array. */
export type HeaderRecord = Record<string, string | string[] | undefined>;

/** The first value of header `name` (lower-case), or undefined when absent. */
export function header(headers: HeaderRecord, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
