/** `send_email` automation action: one transactional email (see send-transactional.ts). */
import { Type } from 'typebox';
import type { ActionDefinition } from '../workflows/actions/registry.ts';
import { sendTransactionalEmail } from './send-transactional.ts';

const ConfigSchema = Type.Object({
  /** Explicit address; default: the email of the contact with the trigger's phone. */
  to: Type.Optional(Type.String({ minLength: 3, maxLength: 320 })),
  subject: Type.String({ minLength: 1, maxLength: 998 }),
  html: Type.Optional(Type.String({ maxLength: 500_000 })),
  text: Type.Optional(Type.String({ maxLength: 500_000 })),
}, { additionalProperties: false });

interface SendEmailConfig { to?: string; subject: string; html?: string; text?: string }

export const sendEmailAction: ActionDefinition = {
  type: 'send_email',
  configSchema: ConfigSchema,
  async execute(input, config: SendEmailConfig) {
    const vars: Record<string, string> = { ...input.vars };
    input.variables.forEach((value, i) => { vars[`var${i + 1}`] = value; });
    const result = await sendTransactionalEmail(input.ctx, {
      clientId: input.clientId,
      to: config.to,
      phone: input.phone,
      subject: config.subject,
      html: config.html,
      text: config.text,
      vars,
      idempotencyKey: input.idempotencyKey,
    });
    const outVars: Record<string, string> = result.messageId ? { emailMessageId: result.messageId } : {};
    return { output: { ...result }, vars: outVars };
  },
};
