/**
 * Every column that stores keyring envelopes, for `ecodrix secrets rotate-key`.
 * A domain that adds an encrypted column adds its descriptor here.
 */
import type { EncryptedColumn } from './platform/crypto/reencrypt.ts';
import { datasourceContext } from './tenants/datasource.ts';
import { secretContext } from './tenants/secrets.ts';

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
];
