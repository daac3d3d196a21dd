// Types of test-tools.mjs, for vitest.config.ts.
export declare const TOOL_TESTS: Record<string, string[]>;
export declare const PACKAGE_OF: Record<string, string>;
export declare function missing(binaries: readonly string[]): string[];
export declare function testsWithoutTools(): string[];
