// Peak memory of a process and everything it started (n8n, its task runner), read from /proc.
// The kernel keeps no peak for a whole tree, so it is sampled: a spike shorter than the interval
// can be missed, and the figure is a lower bound of the true peak.

import { readdir, readFile } from 'node:fs/promises';

async function childrenOf(pid) {
	let tasks;
	try {
		tasks = await readdir(`/proc/${pid}/task`);
	} catch {
		return [];
	}
	const children = await Promise.all(
		tasks.map((task) => readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '')),
	);
	return children.flatMap((text) => text.split(' ').filter(Boolean).map(Number));
}

async function treeOf(root) {
	const pids = [];
	const queue = [root];
	while (queue.length > 0) {
		const pid = queue.shift();
		pids.push(pid);
		queue.push(...(await childrenOf(pid)));
	}
	return pids;
}

/** `{ rssKb, hwmKb, name }` of one process, or null once it has gone. */
async function statusOf(pid) {
	try {
		const text = await readFile(`/proc/${pid}/status`, 'utf8');
		const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
		const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
		return { rssKb: field('VmRSS'), hwmKb: field('VmHWM'), command: cmdline.split('\0').filter(Boolean).slice(0, 3).join(' ') };
	} catch {
		return null;
	}
}

/**
 * Samples the tree under `rootPid` every `intervalMs` until stop() is called. stop() resolves to
 * `{ peakTreeRssBytes, peakHwmBytes, processes, samples }`: the largest sum of the tree's RSS seen
 * in one sample, and the sum over processes of the peak RSS the kernel kept for each (VmHWM; those
 * peaks need not have happened at the same time: an upper bound), each process's with its command.
 */
export function sampleTreeMemory(rootPid, { intervalMs = 20 } = {}) {
	let peakTreeKb = 0;
	let samples = 0;
	const hwmKb = new Map();
	let running = true;
	const loop = (async () => {
		while (running) {
			const pids = await treeOf(rootPid);
			const statuses = await Promise.all(pids.map(statusOf));
			let sumKb = 0;
			statuses.forEach((status, i) => {
				if (!status) return;
				sumKb += status.rssKb;
				// A process that has exited but not been reaped shows no memory: keep what it had.
				const seen = hwmKb.get(pids[i]);
				if (!seen || status.hwmKb > seen.kb) hwmKb.set(pids[i], { kb: status.hwmKb, command: status.command });
			});
			peakTreeKb = Math.max(peakTreeKb, sumKb);
			samples++;
			await new Promise((wait) => setTimeout(wait, intervalMs));
		}
	})();
	return {
		async stop() {
			running = false;
			await loop;
			const processes = [...hwmKb.values()].map(({ kb, command }) => ({ command, peakBytes: kb * 1024 }));
			const peakHwmBytes = processes.reduce((sum, p) => sum + p.peakBytes, 0);
			return { peakTreeRssBytes: peakTreeKb * 1024, peakHwmBytes, processes, samples };
		},
	};
}
