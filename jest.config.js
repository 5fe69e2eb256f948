/** Two projects: `default` needs nothing beyond npm ci; `interop` runs against Debian programs. */
const common = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', {}] },
};
module.exports = {
  projects: [
    { ...common, displayName: 'default', testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/test/integration/**/*.test.ts'] },
    { ...common, displayName: 'interop', testMatch: ['<rootDir>/test/interop/**/*.test.ts'] },
  ],
  testTimeout: 30000,
};
