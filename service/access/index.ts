export { createAuthorizer, CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, type AuthorizerOptions } from './authorizer';
export { securityHeaders, contentSecurityPolicy } from './headers';
export { MASKED_FIELDS, maskGrid, maskName, maskPerson, maskPhone, maskPhonesIn } from './mask';
export type { Principal, RoleScope } from './policy';
export { isPermission, PERMISSIONS, ROLE_TABLE, ROLES, type Permission, type Role } from './roles';
export { accessRoutes } from './routes';
export { createAccessService, type AccessService } from './service';
export { createAccessQueries } from './store';
export { DEMO_ACCOUNTS, DEMO_PASSWORD, seedDemoAccounts, type DemoAccount } from './demo-accounts';
