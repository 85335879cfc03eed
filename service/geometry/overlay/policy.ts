import { DEFAULT_POLICY, type OverlayPolicy } from './types';

/**
 * Urban or rural, from a governance unit's type (DOMAIN.md "Bank grids": the big grid is the community
 * in towns, the village in the country). The words that mark a rural type are policy data.
 */
export function areaTypeOf(type: string | null, policy: Pick<OverlayPolicy, 'ruralTypes'> = DEFAULT_POLICY): 'urban' | 'rural' {
  if (!type) return 'urban';
  const text = type.toLowerCase();
  return policy.ruralTypes.some((word) => text.includes(word.toLowerCase())) ? 'rural' : 'urban';
}
