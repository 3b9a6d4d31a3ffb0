// n8n in queue mode, as it scales past one process: one `n8n start` (main: UI, REST, webhooks; it
// enqueues executions in Redis) and `n8n worker` processes that run them, all on one database,
// one encryption key and one user folder (so one installed community package).
//
//   const redis = await startRedis();
//   const postgres = await startPostgres();
//   const ctx = await createUserFolder(n8nInstall(2), { env: queueModeEnv({ redis, postgres }) });
//   … installCommunityPackage, importCredentials, importWorkflow as in regular mode …
//   const main = await startN8n(ctx);
//   const workers = await Promise.all(['worker-1', 'worker-2'].map((name) => startWorker(ctx, name)));
//   workerExecutions(workers[0]);                  // ids of the executions worker-1 started

import { freePorts } from './processes.mjs';
import { startN8n } from './runner.mjs';

/**
 * What every process of the installation shares, for createUserFolder's `env`. Binary data stays at
 * queue mode's default, the database, which every process reads and writes.
 */
export function queueModeEnv({ redis, postgres }) {
	return {
		EXECUTIONS_MODE: 'queue',
		QUEUE_BULL_REDIS_HOST: redis.host,
		QUEUE_BULL_REDIS_PORT: String(redis.port),
		DB_TYPE: 'postgresdb',
		DB_POSTGRESDB_HOST: postgres.host,
		DB_POSTGRESDB_PORT: String(postgres.port),
		DB_POSTGRESDB_DATABASE: postgres.database,
		DB_POSTGRESDB_USER: postgres.user,
		DB_POSTGRESDB_PASSWORD: '',
	};
}

/**
 * `n8n worker` with its own task-runner broker port and its own health server on 127.0.0.1;
 * resolves once the worker reports itself ready (database and Redis connected):
 * `{ name, healthUrl, child, output(), stop() }`. `concurrency` caps the executions it runs at once.
 */
export async function startWorker(ctx, name, { concurrency, timeoutMs } = {}) {
	const [brokerPort, healthPort] = await freePorts(2);
	const healthUrl = `http://127.0.0.1:${healthPort}`;
	const worker = await startN8n(ctx, {
		command: 'worker',
		args: concurrency ? [`--concurrency=${concurrency}`] : [],
		env: {
			N8N_RUNNERS_BROKER_PORT: String(brokerPort),
			QUEUE_HEALTH_CHECK_ACTIVE: 'true',
			QUEUE_HEALTH_CHECK_PORT: String(healthPort),
			N8N_WORKER_SERVER_ADDRESS: '127.0.0.1',
		},
		readyUrl: `${healthUrl}/healthz/readiness`,
		timeoutMs,
	});
	return { ...worker, name, healthUrl };
}

/** The ids of the executions a worker started, from its log ("Worker started execution 12 (job 7)"). */
export function workerExecutions(worker) {
	return [...worker.output().matchAll(/Worker started execution (\S+) \(job /g)].map((match) => match[1]);
}
