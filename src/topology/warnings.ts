import type { Problem } from './schema.ts';
import { child, ROOT } from './schema.ts';
import type { ValidTopology } from './types.ts';

/**
 * What is valid but probably a mistake, for `tributary lint`: a step whose output nobody reads, a
 * route output (or routed duplicates) never consumed. Paths and keys as for problems.
 *
 * ```ts
 * lintWarnings(validateTopology(spec)); // [{ path: '/steps/by-type/routes/2/output', message: 'route output "scores" is never read', ... }]
 * ```
 */
export function lintWarnings(topology: ValidTopology): Problem[] {
  const read = new Set([...topology.steps, ...topology.sinks].flatMap((n) => n.from.map((input) => input.ref)));
  const warnings: Problem[] = [];
  const warn = (at: { path: string; keys: readonly (string | number)[] }, message: string) => warnings.push({ path: at.path, keys: at.keys, message });
  topology.steps.forEach((step, i) => {
    const at = child(child(ROOT, 'steps'), i, step.id);
    if (step.kind === 'route') {
      // Validation made the route outputs unique; the default may repeat one.
      step.routes.forEach((route, r) => {
        if (!read.has(`${step.id}.${route.output}`)) warn(child(child(child(at, 'routes'), r), 'output'), `route output "${route.output}" is never read (no from: ${step.id}.${route.output})`);
      });
      const fallback = step.defaultOutput;
      if (fallback !== undefined && !step.routes.some((r) => r.output === fallback) && !read.has(`${step.id}.${fallback}`)) warn(child(at, 'default'), `route output "${fallback}" is never read (no from: ${step.id}.${fallback})`);
      return;
    }
    if (!read.has(step.id)) warn(at, `nobody reads the output of step "${step.id}" (no step or sink has from: ${step.id})`);
    if (step.kind === 'dedup' && step.duplicates === 'route' && !read.has(`${step.id}.duplicate`))
      warn(child(at, 'duplicates'), `duplicates are routed but output "duplicate" is never read (no from: ${step.id}.duplicate)`);
  });
  return warnings;
}
