import { describe, expect, it } from 'vitest';
import { parseClusterNodes } from './cluster-nodes.js';

// `CLUSTER NODES` of a 3 + 3 cluster (Redis 7) just after its first master was killed.
const TEXT = `a1 127.0.0.1:7001@17001 master,fail - 1700000000000 1700000000000 1 disconnected 0-5460
b2 127.0.0.1:7002@17002 myself,master - 0 1700000000000 2 connected 5461-10922
c3 127.0.0.1:7003@17003,host-c master - 0 1700000000000 3 connected 10923-16383 [16000->-a1]
d4 127.0.0.1:7004@17004 master - 0 1700000000000 7 connected 0-5460
e5 127.0.0.1:7005@17005 slave b2 0 1700000000000 2 connected
f6 127.0.0.1:7006@17006 slave c3 0 1700000000000 3 connected
`;

describe('parseClusterNodes', () => {
  it('lists live nodes with roles, masters and slot ranges, without failed nodes or migrating slots', () => {
    expect(parseClusterNodes(TEXT)).toEqual([
      { port: 7002, role: 'master', slots: [[5461, 10922]] },
      { port: 7003, role: 'master', slots: [[10923, 16383]] },
      { port: 7004, role: 'master', slots: [[0, 5460]] },
      { port: 7005, role: 'replica', masterPort: 7002, slots: [] },
      { port: 7006, role: 'replica', masterPort: 7003, slots: [] },
    ]);
  });

  it('reads single-slot entries as one-slot ranges', () => {
    expect(parseClusterNodes('x 127.0.0.1:7000@17000 master - 0 0 1 connected 5 7-9\n')[0]?.slots).toEqual([
      [5, 5],
      [7, 9],
    ]);
  });
});
