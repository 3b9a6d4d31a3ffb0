/** @type {import('jest').Config} */
module.exports = {
	testEnvironment: 'node',
	roots: ['<rootDir>/test'],
	testMatch: ['**/*.test.ts'],
	transform: {
		// Type checking is done once by `npm run lint` (tsc); jest only strips types.
		'^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json', isolatedModules: true }],
	},
	testTimeout: 30000,
	// The suites mostly wait (retry back-offs, timeouts, streams paced in time), so more workers than
	// cores finish sooner; the CPU they need together is well under two cores.
	maxWorkers: 4,
};
