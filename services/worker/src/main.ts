import { loadWorkerConfig } from '@runway-relay/contracts';
import { runService } from '@runway-relay/runtime';
import { createWorker } from './create-worker.js';

await runService('worker', loadWorkerConfig, createWorker);
