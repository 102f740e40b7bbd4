/**
 * `send_whatsapp`: sends an approved template with the trigger's variables
 * through the outbound engine (`sendTemplateMessage` in src/whatsapp). The
 * workflow job id is the idempotency key, so a re-run never sends twice.
 */
import { Type } from 'typebox';
import { AppError } from '../../platform/errors.ts';
import type { AppContext } from '../../context.ts';
import type { ActionDefinition } from './registry.ts';
import { interpolate } from './registry.ts';

export interface SendTemplateInput {
  clientId: string;
  phone: string;
  templateName: string;
  language?: string;
  variables: string[];
  idempotencyKey: string;
  conversationId?: string;
  actor: string;
}
type SendTemplateMessage = (ctx: AppContext, input: SendTemplateInput) => Promise<unknown>;

// The outbound engine lands in src/whatsapp/index.ts; resolved at run time so this domain builds without it.
const WHATSAPP_MODULE = '../../whatsapp/index.ts';
async function loadSender(): Promise<SendTemplateMessage> {
  const mod = (await import(WHATSAPP_MODULE).catch(() => ({}))) as { sendTemplateMessage?: SendTemplateMessage };
  if (!mod.sendTemplateMessage) throw new Error('WhatsApp outbound sending is not available in this build');
  return mod.sendTemplateMessage;
}

const ConfigSchema = Type.Object({
  templateName: Type.String({ minLength: 1, maxLength: 512 }),
  language: Type.Optional(Type.String({ minLength: 2, maxLength: 16 })),
}, { additionalProperties: false });

export const sendWhatsappAction: ActionDefinition = {
  type: 'send_whatsapp',
  configSchema: ConfigSchema,
  async execute(input, config: { templateName: string; language?: string }) {
    if (!input.phone) throw new AppError('UNPROCESSABLE', { message: 'send_whatsapp needs a phone number' });
    const send = await loadSender();
    const variables = input.variables.map((v) => interpolate(v, input.vars));
    const result = await send(input.ctx, {
      clientId: input.clientId,
      phone: input.phone,
      templateName: config.templateName,
      language: config.language,
      variables,
      idempotencyKey: input.idempotencyKey,
      conversationId: input.conversationId,
      actor: 'automation',
    });
    const out = (result && typeof result === 'object' ? result : { result }) as Record<string, unknown>;
    const vars: Record<string, string> = {};
    for (const name of ['messageId', 'waMessageId', 'conversationId'] as const) {
      if (typeof out[name] === 'string') vars[name] = out[name];
    }
    return { output: out, vars };
  },
};
