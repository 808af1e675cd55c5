// A kernel thread in Node: a worker_threads Worker whose workerData is the KernelThreadData.
import { workerData } from 'node:worker_threads';
import { runKernelThread } from '../backend/kernel-thread.mjs';

runKernelThread(workerData);
