// Serves /dashboard alone with sample data, to work on the page: node --import tsx local/dashboard/preview.ts [port]
import { Hono } from 'hono';
import { customerFeatures } from '../../shared/features/index.ts';
import { listenApp } from '../../shared/runtime/server.ts';
import type { DeadLetter } from '../broker/index.ts';
import { LoopState } from '../state.ts';
import { dashboardRoutes } from './routes.ts';
import {
  sampleAccepted,
  sampleDriftWindows,
  sampleLaunched,
  samplePromoted,
  sampleRejected,
  sampleScore,
  sampleTrained,
} from './sample.ts';

const port = Number(process.argv[2] ?? 8090);
const state = new LoopState();
const windows = sampleDriftWindows({ features: customerFeatures.columns, windows: 40, shiftFrom: 14 });
const problem = {
  title: 'invalid input',
  detail: 'data.amount: expected number, received string',
  status: 400,
};
const deadLetters: DeadLetter[] = [
  {
    at: new Date().toISOString(),
    trigger: 'featurize',
    sink: 'Service/dead-letters',
    attempts: 1,
    reason: 'status 400, not retriable',
    event: {
      specversion: '1.0',
      id: 'sample-1',
      source: 'preview',
      type: 'dev.flywheel.transaction.accepted',
      knativeerrorcode: 400,
      knativeerrordest: 'http://127.0.0.1:8082/',
      knativeerrordata: Buffer.from(JSON.stringify(problem)).toString('base64'),
    },
  },
];

let n = 0;
let second = 0;
let champion = 1;
state.observe(samplePromoted({ model: 'risk', version: 1, previous: null }));
state.observe(samplePromoted({ model: 'segment', version: 1, previous: null }));
state.source.simulatedTime = Date.UTC(2026, 10, 1);

/** One simulated second: traffic, a score latency per event, a drift window every 5 s, training after detections. */
function step(): void {
  const rate = 40 + Math.round(15 * Math.sin(second / 20) + 5 * Math.random());
  for (let i = 0; i < rate; i++) {
    n++;
    state.observe(sampleAccepted({ n }));
    const risk = i === 0 && second % 3 === 0 ? 0.8 + Math.random() / 5 : Math.random() * 0.7;
    state.observe(sampleScore({ n, risk, version: champion }));
    state.scoreLatency(2 + Math.random() * 6);
  }
  const window = windows[Math.floor(second / 5) % windows.length];
  if (second % 5 === 4 && window) {
    state.observe(window);
    if (window.type === 'dev.flywheel.drift.detected') {
      state.observe(sampleLaunched({ model: 'risk', jobName: `train-risk-${second}` }));
      const version = champion + 1;
      state.observe(sampleTrained({ version, metrics: { rocAuc: 0.9 + Math.random() / 20, brier: 0.08 } }));
      if (version % 3 === 0) {
        state.observe(
          sampleRejected({ version, champion, reasons: ['rocAuc not above the champion + 0.005'] }),
        );
      } else {
        state.observe(samplePromoted({ model: 'risk', version, previous: champion }));
        champion = version;
      }
    }
  }
  state.source.simulatedTime = (state.source.simulatedTime ?? 0) + 60_000;
  state.source.drifting = Math.floor(second / 5) % windows.length >= 14;
  state.source.sent = n;
  state.tick();
  second++;
}

const app = new Hono();
dashboardRoutes(app, () => state.snapshot({ deadLetters, broker: null }));
await listenApp(app, { name: 'dashboard preview', port, host: '127.0.0.1' });
process.stdout.write(`dashboard preview: http://127.0.0.1:${port}/dashboard (sample data; Ctrl-C stops)\n`);
setInterval(step, 1000);
