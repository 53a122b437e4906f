// Runs in a worker thread, so it keeps running while a job blocks the main
// thread: if the Python process that owns this worker goes away (the worker is
// re-parented), nothing will ever kill a job stuck in a loop, so end the process.
import { workerData } from 'node:worker_threads';

const POLL_MS = 1000;
const { parentPid } = workerData;

const orphaned = () => process.ppid !== parentPid;
if (orphaned()) process.kill(process.pid, 'SIGKILL'); // the parent died while we started
setInterval(() => {
  if (orphaned()) process.kill(process.pid, 'SIGKILL');
}, POLL_MS);
