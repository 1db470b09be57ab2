import { loadDashboardConfig } from '@runway-relay/contracts';
import { runService } from '@runway-relay/runtime';
import { createDashboard } from './create-dashboard.js';

await runService('dashboard', loadDashboardConfig, createDashboard);
