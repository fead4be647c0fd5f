// The names of the addon's ids (native/core/names.h), as TypeScript needs them: literal types.
// An id is a name's index here; lib/native.ts refuses an addon whose tables differ, so the two
// lists cannot drift apart.
export const ALGORITHMS = ['VSGDfd', 'VSGD', 'SGD', 'AdaGrad', 'NaturalGradient', 'Adam'] as const;
export const SPARSITIES = ['none', 'instance', 'global'] as const;
export const VARIANTS = ['paper', 'signed'] as const;
export const FIELDS = ['g', 'v', 'h', 'vh', 'tau', 'eta', 'p'] as const;

export type AlgorithmName = (typeof ALGORITHMS)[number];
export type Sparsity = (typeof SPARSITIES)[number];
export type Variant = (typeof VARIANTS)[number];
/** a field of the native state layout */
export type Field = (typeof FIELDS)[number];
