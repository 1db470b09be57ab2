import { loadIngressConfig } from '@runway-relay/contracts';
import { runService } from '@runway-relay/runtime';
import { createIngress } from './create-ingress.js';

await runService('ingress', loadIngressConfig, createIngress);
