import { Writable } from 'node:stream';
import { createLogger } from '@runway-relay/runtime';
import { describe, expect, it } from 'vitest';
import { createWorkerErrorLog } from './oom-log.js';

function capture() {
  const lines: Array<{ msg: string; suppressed?: number }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { lines, logger: createLogger({ service: 'test', level: 'info', destination }) };
}

const oom = () => new Error("OOM command not allowed when used memory > 'maxmemory'. script: abc, on @user_script:1.");

describe('worker error log', () => {
  it('writes Redis OOM errors once per interval, with the count of the lines left out', () => {
    const { lines, logger } = capture();
    let clock = 0;
    const log = createWorkerErrorLog(logger, 10_000, () => clock);
    for (let i = 0; i < 1000; i++) {
      log(oom());
      clock += 50; // 1000 failures in 50 s
    }
    expect(lines).toHaveLength(5);
    expect(lines.map((line) => line.suppressed)).toEqual([0, 199, 199, 199, 199]);
  });

  it('writes every other error', () => {
    const { lines, logger } = capture();
    const log = createWorkerErrorLog(logger, 10_000, () => 0);
    log(new Error('connection lost'));
    log(new Error('connection lost'));
    expect(lines.map((line) => line.msg)).toEqual(['worker error', 'worker error']);
  });
});
