import { inspect } from 'node:util';

// Transitive dependencies of n8n-core, as in test/engine/run-workflow.ts: n8n-core takes its logger
// and the logging config from this container; there is one copy of each in node_modules.
import { Logger } from '@n8n/backend-common';
import { GlobalConfig } from '@n8n/config';
import { Container } from '@n8n/di';

import { realProcess } from './harness';

/** One line of output, as written or as handed to n8n's logger. */
export interface CapturedLine {
	via: 'n8n-logger' | 'console' | 'stdout' | 'stderr';
	text: string;
}

export interface OutputCapture {
	readonly lines: CapturedLine[];
	/** Lines from n8n's logger whose text matches. */
	logged(pattern: RegExp): string[];
	/** Everything captured, one line per entry. */
	all(): string;
}

type LogMethod = (level: string, message: string, metadata: Record<string, unknown>) => void;
type Write = typeof process.stdout.write;

/**
 * Captures everything the node and n8n could write while a test file runs: n8n's logger at
 * debug level (what an instance with N8N_LOG_LEVEL=debug would log, metadata included), console.*,
 * and raw writes to stdout and stderr.
 *
 * Call it at the top level of a test file, before its first workflow run: the engine harness
 * silences n8n's logger unless N8N_LOG_LEVEL is set when it creates n8n's services, and the
 * logger reads its level once, when it is created. The logger's lines are kept, not printed;
 * console and stream writes are kept and still printed.
 */
export function captureOutput(): OutputCapture {
	const lines: CapturedLine[] = [];
	// Jest gives each test file its own copy of process.env: this reaches no other file.
	process.env.N8N_LOG_LEVEL = 'debug';
	Container.get(GlobalConfig).logging.level = 'debug';

	// `log` is where every level of every (scoped) n8n logger ends, before winston formats it.
	const loggerPrototype = Logger.prototype as unknown as { log: LogMethod };
	const originalLog = loggerPrototype.log;
	loggerPrototype.log = function (level, message, metadata) {
		lines.push({ via: 'n8n-logger', text: `${level}: ${message} ${inspect(metadata, { depth: 8, breakLength: Infinity })}` });
	};

	const consoleMethods = ['log', 'info', 'warn', 'error', 'debug'] as const;
	const originalConsole = consoleMethods.map((name) => console[name]);
	for (const [index, name] of consoleMethods.entries()) {
		const original = originalConsole[index];
		console[name] = (...args: unknown[]) => {
			lines.push({ via: 'console', text: args.map((arg) => (typeof arg === 'string' ? arg : inspect(arg, { depth: 8 }))).join(' ') });
			original.apply(console, args);
		};
	}

	const wrap = (stream: NodeJS.WriteStream, via: 'stdout' | 'stderr'): Write => {
		const original = stream.write;
		stream.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
			lines.push({ via, text: typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8') });
			return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
		} as Write;
		return original;
	};
	const originalStdout = wrap(realProcess.stdout, 'stdout');
	const originalStderr = wrap(realProcess.stderr, 'stderr');

	afterAll(() => {
		loggerPrototype.log = originalLog;
		for (const [index, name] of consoleMethods.entries()) console[name] = originalConsole[index];
		realProcess.stdout.write = originalStdout;
		realProcess.stderr.write = originalStderr;
	});

	return {
		lines,
		logged: (pattern) => lines.filter((line) => line.via === 'n8n-logger' && pattern.test(line.text)).map((line) => line.text),
		all: () => lines.map((line) => `[${line.via}] ${line.text}`).join('\n'),
	};
}
