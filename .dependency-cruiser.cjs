// The layers of src/, checked by `make lint` (dependency-cruiser). From the bottom up:
//   domain → market, log → runtime → deciders (oms, positions) and venues → stages (intake,
//   decide, normalizer, risk, router, gateway), projections, audit → ops (the API) → assembly → cli.
// An import that runs back up, or any import cycle, fails the build.
const STAGES = '^src/(intake|decide|normalizer|risk|router|gateway)/';
const ABOVE_RUNTIME = '^src/(intake|decide|normalizer|risk|router|gateway|oms|positions|venues|projections|audit|ops|assembly|cli|tools)/';

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'Files must not import each other in a loop.', from: {}, to: { circular: true } },
    {
      name: 'domain-imports-nothing-of-ours',
      severity: 'error',
      comment: 'The domain contracts are the ground floor: they import only each other.',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: '^src/domain/' },
    },
    {
      name: 'log-and-market-stay-low',
      severity: 'error',
      comment: 'The logs and the market data know the domain contracts only.',
      from: { path: '^src/(log|market)/' },
      to: { path: '^src/', pathNot: ['^src/domain/', '^src/$1/'] },
    },
    {
      name: 'runtime-below-stages',
      severity: 'error',
      comment: 'The stage contract, codec, supervisor and sink contract sit below every stage and sink.',
      from: { path: '^src/runtime/' },
      to: { path: ABOVE_RUNTIME },
    },
    {
      name: 'deciders-are-pure',
      severity: 'error',
      comment: 'A decider decides from its command and state alone: no log, runtime, venue I/O, files or network.',
      from: { path: ['^src/[^/]+/decide\\.ts$', '^src/oms/', '^src/positions/', '^src/venues/sim/match\\.ts$'] },
      to: {
        path: ['^src/(log|runtime|venues|projections|audit|assembly|cli|intake|gateway)/', '^(node:)?(fs|net|http|https|child_process|worker_threads|dgram)$'],
        pathNot: '^src/venues/types\\.ts$',
      },
    },
    {
      name: 'stages-do-not-import-stages',
      severity: 'error',
      comment: 'Stages meet only through the log; the assembly wires them together.',
      from: { path: STAGES, pathNot: '^src/decide/' },
      to: { path: STAGES, pathNot: '^src/$1/' },
    },
    {
      name: 'the-fused-stage-takes-deciders-only',
      severity: 'error',
      comment:
        "The fused decide stage composes the normalizer, risk and router deciders, never their adapters; it shares risk's and the router's reading of the log (inputs.ts) and their pure folds (state.ts).",
      from: { path: '^src/decide/' },
      to: { path: STAGES, pathNot: ['^src/decide/', '^src/(normalizer|risk|router)/decide\\.ts$', '^src/risk/(policy|state|inputs)\\.ts$', '^src/router/(state|inputs)\\.ts$'] },
    },
    {
      name: 'assembly-only-from-cli',
      severity: 'error',
      comment: 'The assembly sits on top: in src/, only the CLI imports it.',
      from: { path: '^src/', pathNot: ['^src/assembly/', '^src/cli/'] },
      to: { path: '^src/assembly/' },
    },
    {
      name: 'nothing-imports-cli',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    { name: 'no-unresolvable', severity: 'error', from: {}, to: { couldNotResolve: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
