/** The provider simulator's media server in its own process. Prints its origin as JSON. */
import { startMediaServer } from '@runway-relay/simulator';

const media = await startMediaServer();
process.stdout.write(`${JSON.stringify({ origin: media.origin })}\n`);
process.once('SIGTERM', () => void media.close().finally(() => process.exit(0)));
