import type { StandinOptions } from './server';
import { startDifyStandin } from './server';

/**
 * Starts the Dify stand-in from the command line and prints one JSON line with its base URL and
 * API key, for scripts (end-to-end runs, demos, benchmarks) to read. Runs until SIGINT/SIGTERM.
 */

const USAGE = `Usage: node cli.js [options]
  --port N             port to listen on (default 0: any free port)
  --host H             address to listen on (default 127.0.0.1)
  --key K              API key to accept (default app-DifyStandInDemoKey000001)
  --ping-ms N          keep-alive ping interval while a run is busy (default 10000)
  --chunking C         awkward | frame | bulk (default awkward)
  --dify-version V     1.11 | 1.13 | 1.16 (default 1.16)
  --line-ending E      lf | crlf (default lf)
  --step-delay-ms N    delay between the events of a run (default 0)
  --seed-logs N        historical log rows (default 45)
  --review-form F      simple | full: the inputs of the paused scenario's form (default simple)`;

class UsageError extends Error {}

function wholeNumber(flag: string, text: string | undefined): number {
	if (text === undefined || !/^\d+$/.test(text)) throw new UsageError(`${flag} needs a whole number, got ${text ?? 'nothing'}`);
	return Number(text);
}

function oneOf<T extends string>(flag: string, text: string | undefined, allowed: readonly T[]): T {
	if (text === undefined || !(allowed as readonly string[]).includes(text)) {
		throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got ${text ?? 'nothing'}`);
	}
	return text as T;
}

export function parseArguments(argv: string[]): StandinOptions {
	const options: StandinOptions = {};
	for (let i = 0; i < argv.length; i++) {
		const flag = argv[i];
		const value = (): string | undefined => argv[++i];
		switch (flag) {
			case '--port':
				options.port = wholeNumber(flag, value());
				break;
			case '--host':
				options.host = value();
				break;
			case '--key': {
				const key = value();
				if (!key) throw new UsageError('--key needs a value');
				options.apiKey = key;
				break;
			}
			case '--ping-ms':
				options.pingIntervalMs = Math.max(1, wholeNumber(flag, value()));
				break;
			case '--chunking':
				options.chunking = oneOf(flag, value(), ['awkward', 'frame', 'bulk'] as const);
				break;
			case '--dify-version':
				options.version = oneOf(flag, value(), ['1.11', '1.13', '1.16'] as const);
				break;
			case '--line-ending':
				options.lineEnding = oneOf(flag, value(), ['lf', 'crlf'] as const) === 'crlf' ? '\r\n' : '\n';
				break;
			case '--step-delay-ms':
				options.stepDelayMs = wholeNumber(flag, value());
				break;
			case '--seed-logs':
				options.seedLogs = wholeNumber(flag, value());
				break;
			case '--review-form':
				options.reviewForm = oneOf(flag, value(), ['simple', 'full'] as const);
				break;
			default:
				throw new UsageError(`Unknown option: ${flag}`);
		}
	}
	return options;
}

async function main(): Promise<void> {
	const argv = process.argv.slice(2);
	if (argv.includes('--help') || argv.includes('-h')) {
		process.stdout.write(`${USAGE}\n`);
		return;
	}
	const standin = await startDifyStandin(parseArguments(argv));
	process.stdout.write(`${JSON.stringify({ url: standin.url, apiKey: standin.apiKey })}\n`);
	const shutdown = () => {
		void standin.close().then(() => process.exit(0));
	};
	process.once('SIGINT', shutdown);
	process.once('SIGTERM', shutdown);
}

if (require.main === module) {
	main().catch((error: unknown) => {
		if (error instanceof UsageError) {
			process.stderr.write(`${error.message}\n\n${USAGE}\n`);
			process.exit(2);
		}
		process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
		process.exit(1);
	});
}
