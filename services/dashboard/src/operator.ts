import type { FastifyRequest } from 'fastify';

/** Who made an admin request, for the audit trail. */
export interface Actor {
  /** The basic-auth user (authenticated before any route runs). */
  operator: string;
  via: 'admin_api' | 'bull_board';
}

/**
 * The basic-auth user name of an authenticated request. The auth hook has checked the header
 * already, so this only decodes it; `unknown` if it somehow is not there.
 */
export function operatorOf(request: FastifyRequest): string {
  const header = request.headers.authorization ?? '';
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
  if (!match?.[1]) return 'unknown';
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return (colon >= 0 ? decoded.slice(0, colon) : decoded).slice(0, 256) || 'unknown';
}
