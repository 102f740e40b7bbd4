/**
 * `send_whatsapp`: sends an approved template with the trigger's variables
 * through the outbound engine (`sendTemplateMessage` in src/whatsapp). The
 * workflow job id is the idempotency key, so a re-run never sends twice.
 */
import { Type } from 'typebox';
import { AppError } from '../../platform/errors.ts';
import { sendTemplateMessage } from '../../whatsapp/index.ts';
import type { ActionDefinition } from './registry.ts';
import { interpolate } from './registry.ts';

const ConfigSchema = Type.Object({
  templateName: Type.String({ minLength: 1, maxLength: 512 }),
  language: Type.Optional(Type.String({ minLength: 2, maxLength: 16 })),
}, { additionalProperties: false });

export const sendWhatsappAction: ActionDefinition = {
  type: 'send_whatsapp',
  configSchema: ConfigSchema,
  async execute(input, config: { templateName: string; language?: string }) {
    if (!input.phone) throw new AppError('UNPROCESSABLE', { message: 'send_whatsapp needs a phone number' });
    const variables = input.variables.map((v) => interpolate(v, input.vars));
    const result = await sendTemplateMessage(input.ctx, {
      clientId: input.clientId,
      phone: input.phone,
      templateName: config.templateName,
      language: config.language,
      variables,
      idempotencyKey: input.idempotencyKey,
      conversationId: input.conversationId,
      actor: 'automation',
    });
    const vars: Record<string, string> = { messageId: result.messageId, conversationId: result.conversationId };
    if (result.waMessageId) vars.waMessageId = result.waMessageId;
    return { output: { ...result }, vars };
  },
};
