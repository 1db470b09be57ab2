// The address policy moved to packages/net-guard so webhook delivery judges addresses by the same rules.
export { hostAllowed, isForbiddenAddress } from '@runway-relay/net-guard';
