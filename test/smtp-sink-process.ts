/**
 * The SMTP sink (smtp-sink.ts, no parsing) in a process of its own, for
 * benchmarks: the sink's TLS and SMTP parsing then do not share the measured
 * process's event loop. Protocol over the IPC channel: it sends `{ port }` once
 * listening; `'stats'` → `{ accepted, acceptedAt }`; `'close'` → exits.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startSmtpSink } from './smtp-sink.ts';

export interface RemoteSmtpSink {
  port: number;
  stats(): Promise<{ accepted: number; acceptedAt: number[] }>;
  close(): Promise<void>;
}

/** Starts this file as a child process and returns a handle to it. */
export async function startRemoteSmtpSink(): Promise<RemoteSmtpSink> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`SMTP sink process exited (${code})`)));
  });
  return {
    port,
    stats: () => new Promise((resolve) => {
      child.once('message', (m) => resolve(m as { accepted: number; acceptedAt: number[] }));
      child.send('stats');
    }),
    close: () => new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.send('close');
    }),
  };
}

if (process.argv.includes('--serve') && process.send) {
  const sink = await startSmtpSink({ parse: false });
  process.on('message', async (m) => {
    if (m === 'stats') process.send!({ accepted: sink.accepted, acceptedAt: sink.acceptedAt });
    if (m === 'close') {
      await sink.close();
      process.exit(0);
    }
  });
  process.send({ port: sink.port });
}
