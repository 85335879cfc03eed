import { rootsIn, seesSystem, type AreaScope } from '../kernel/scope';
import type { PointAnswer } from './service';

/**
 * A point answer as a scoped caller sees it (issue #10): systems outside the scope are left out (not even
 * named as `outside`), and a grid-scoped caller gets only the links of the chain inside one of its
 * subtrees (a link is inside when it or a coarser link of the same chain is a scope root).
 */
export function restrictAnswer(answer: PointAnswer, scope: AreaScope): PointAnswer {
  if (scope === 'all') return answer;
  const systems = answer.systems.flatMap((s) => {
    const roots = rootsIn(scope, s.system);
    if (roots === null) return [s];
    const chain = s.chain.filter((_, i) => s.chain.slice(i).some((l) => roots.includes(l.code)));
    // Neighbours sharing the point may lie outside the scope: not named to a grid-scoped caller.
    return chain.length === 0 ? [] : [{ ...s, chain, alsoIn: [] }];
  });
  return { point: answer.point, systems, outside: answer.outside.filter((key) => seesSystem(scope, key)) };
}
