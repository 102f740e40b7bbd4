/**
 * Every column that stores keyring envelopes, for `ecodrix secrets rotate-key`.
 * A domain that adds an encrypted column adds its descriptor here.
 */
import type { EncryptedColumn } from './platform/crypto/reencrypt.ts';
import { datasourceContext } from './tenants/datasource.ts';
import { secretContext } from './tenants/secrets.ts';
import { refreshTokenContext } from './meet/tokens.ts';

export const encryptedColumns: EncryptedColumn[] = [
  {
    label: 'client secrets',
    table: 'client_secrets',
    keyColumns: ['client_id', 'name'],
    envelopeColumn: 'envelope',
    keyIdColumn: 'key_id',
    contextOf: (row) => secretContext(String(row.client_id), String(row.name)),
  },
  {
    label: 'client datasources',
    table: 'client_datasources',
    keyColumns: ['client_id'],
    envelopeColumn: 'uri_envelope',
    keyIdColumn: 'key_id',
    contextOf: (row) => datasourceContext(String(row.client_id)),
  },
  {
    // The cached access token in the same row is not re-encrypted: it is refreshed when undecryptable.
    label: 'Google refresh tokens',
    table: 'google_connections',
    keyColumns: ['client_id'],
    envelopeColumn: 'refresh_token_envelope',
    keyIdColumn: 'key_id',
    contextOf: (row) => refreshTokenContext(String(row.client_id)),
  },
];
