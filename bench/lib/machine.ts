import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';
import { join } from 'node:path';

/** What the figures were measured on, as docs/benchmarks.md records it. */
export interface Machine {
	cpus: number;
	cpuModel: string;
	memoryGiB: number;
	node: string;
	kernel: string;
	packages: Record<string, string>;
}

function packageVersion(root: string, name: string): string {
	try {
		const manifest = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string };
		return manifest.version ?? '?';
	} catch {
		return '?';
	}
}

export function describeMachine(root: string): Machine {
	let cpuModel = 'unknown';
	try {
		const line = readFileSync('/proc/cpuinfo', 'utf8')
			.split('\n')
			.find((l) => l.startsWith('model name'));
		if (line) cpuModel = line.split(':').slice(1).join(':').trim();
	} catch {}
	return {
		cpus: availableParallelism(),
		cpuModel,
		memoryGiB: totalmem() / 1024 ** 3,
		node: process.version,
		kernel: release(),
		packages: Object.fromEntries(
			['undici', 'eventsource-parser', 'n8n-core', 'n8n-workflow'].map((name) => [name, packageVersion(root, name)]),
		),
	};
}

/** Whether `taskset` can pin processes to CPUs here. */
export function canPin(): boolean {
	try {
		execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
		return true;
	} catch {
		return false;
	}
}

interface CpuSnapshot {
	/** Jiffies the whole machine spent busy (steal counted apart). */
	busy: number;
	steal: number;
	/** Jiffies of this process and of its children that have ended. */
	own: number;
	at: number;
}

function snapshot(): CpuSnapshot | undefined {
	try {
		const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
		const [user, nice, system, , , irq, softirq, steal] = fields;
		// The command name may hold spaces; the fields after its closing parenthesis are fixed.
		const stat = readFileSync('/proc/self/stat', 'utf8');
		const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
		// utime, stime, cutime, cstime are fields 14 to 17, i.e. 11 to 14 after the state field.
		const own = after[11] + after[12] + after[13] + after[14];
		return { busy: user + nice + system + irq + softirq, steal, own, at: Date.now() };
	} catch {
		return undefined;
	}
}

/**
 * Measures how much CPU other processes took while the bench ran: the machine's busy time
 * minus the bench's own (runner, workers and stand-in, all reaped by the end).
 */
export class LoadWatch {
	private readonly start = snapshot();

	/** Average share of one CPU used by others, and by the hypervisor (steal), over the run. */
	finish(): { othersCpu: number; stealCpu: number } | undefined {
		const end = snapshot();
		if (!this.start || !end) return undefined;
		const seconds = (end.at - this.start.at) / 1000;
		const ticks = 100; // USER_HZ on Linux
		const others = (end.busy - this.start.busy - (end.own - this.start.own)) / ticks;
		return { othersCpu: Math.max(0, others / seconds), stealCpu: (end.steal - this.start.steal) / ticks / seconds };
	}
}
