/**
 * Every automation action type. To add one (`send_email`, `create_meet` ...):
 * write `actions/<type>.ts` exporting an ActionDefinition and add ONE line to
 * the list below.
 */
import type { ActionDefinition } from './registry.ts';
import { sendWhatsappAction } from './send-whatsapp.ts';
import { updateLeadAction } from './update-lead.ts';
import { webhookAction } from './webhook.ts';
import { createMeetAction } from '../../meet/index.ts';
import { sendEmailAction } from '../../campaigns/index.ts';

export const actionDefinitions: ActionDefinition[] = [
  sendWhatsappAction,
  updateLeadAction,
  webhookAction,
  createMeetAction,
  sendEmailAction,
];

export function findAction(type: string): ActionDefinition | undefined {
  return actionDefinitions.find((a) => a.type === type);
}

export function actionTypes(): string[] {
  return actionDefinitions.map((a) => a.type);
}
