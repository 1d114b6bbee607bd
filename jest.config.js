// Sources are ESM TypeScript with explicit `.ts` import specifiers (Node 24
// runs them directly with type stripping); swc strips types for Jest, and
// Jest runs in ESM mode because @kubernetes/client-node is ESM only.
const transform = {
  '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2023' }, module: { type: 'es6' } }],
};
// The local stack's state (.stack: etcd writes *.snap files) and build outputs
// are no part of the test tree: etcd's snapshots would count as obsolete Jest
// snapshots and fail the run.
const modulePathIgnorePatterns = ['<rootDir>/.stack/', '<rootDir>/out/', '<rootDir>/.venv/'];
const common = { transform, extensionsToTreatAsEsm: ['.ts'], testEnvironment: 'node', modulePathIgnorePatterns };

export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/simulator/test/**/*.test.ts'] },
    { ...common, displayName: 'dataplane', testMatch: ['<rootDir>/test/dataplane/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
  ],
};
