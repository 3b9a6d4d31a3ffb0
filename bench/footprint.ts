/**
 * What a process weighs before it does anything: RSS after loading each layer the upload figure
 * depends on, in a fresh process with nothing else imported. Started by run.ts like a worker.
 */

function rssMb(): number {
	return process.memoryUsage.rss() / (1024 * 1024);
}

function main(): void {
	const steps: Array<[string, number]> = [['node alone', rssMb()]];
	const load = (label: string, modules: string[]) => {
		for (const name of modules) require(name);
		steps.push([label, rssMb()]);
	};
	load('+ undici, eventsource-parser', ['undici', 'eventsource-parser']);
	load('+ n8n-workflow', ['n8n-workflow']);
	load('+ n8n-core', ['n8n-core']);
	const send = process.send?.bind(process);
	if (send) send({ result: steps }, undefined, {}, () => process.exit(0));
	else process.stdout.write(`${JSON.stringify(steps)}\n`);
}

main();
