/** The tenants domain: clients, keys, secrets, datasources, CORS. Other domains import from here only. */
export { registerClientRoutes } from './routes.ts';
export { createClient, deriveClientCode } from './create-client.ts';
export { requireClient, showClient, listClients, rotateClientKey, deleteClient, type Actor } from './manage-client.ts';
export { setDatasource, tenantDb, tenantDbById, describeDatasource, checkDatabaseUri, checkDatasourceHealth, withinMs, type DatasourceHealth } from './datasource.ts';
export { setClientSecrets } from './set-secrets.ts';
export { describeSecrets as describeSecretsOf } from './secrets.ts';
export { readSecrets, findClientIdsBySecret, SECRET_FIELDS, type ClientSecrets, type SecretField } from './secrets.ts';
export { findClientByCode, findClientById, setWhatsappStatus, type ClientAuthRow } from './clients.repo.ts';
export { addCorsOrigin, listCorsOrigins, removeCorsOrigin, normaliseOrigin } from './cors.ts';
