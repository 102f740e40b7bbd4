/** Edge schemas of the workflows routes. */
import { Type, type Static } from 'typebox';
import { TRIGGER_EVENTS } from './triggers.ts';

export const TriggerEventSchema = Type.Union(TRIGGER_EVENTS.map((t) => Type.Literal(t)), { description: 'One of the seven trigger events' });
const MAX_DELAY = 525_600; // one year, in minutes

export const TriggerBody = Type.Object({
  trigger: TriggerEventSchema,
  phone: Type.String({ pattern: '^[1-9][0-9]{7,14}$', description: 'E.164 without "+": digits only, 8-15 of them' }),
  variables: Type.Array(Type.String({ maxLength: 1024 }), { maxItems: 50, default: [], description: 'WhatsApp template variables, in order' }),
  conversationId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  baseTime: Type.Optional(Type.String({ format: 'date-time', description: 'ISO 8601 reference time (e.g. the appointment)' })),
  delayMinutes: Type.Optional(Type.Integer({ minimum: -MAX_DELAY, maximum: MAX_DELAY, description: 'Relative to baseTime (or now); negative = before' })),
  callbackUrl: Type.Optional(Type.String({ minLength: 8, maxLength: 2048, pattern: '^https?://', description: 'PUT after execution, signed (Standard Webhooks)' })),
  callbackMetadata: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 50, description: 'Echoed in the callback; moduleId + reminderKey identify the event' })),
  idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
}, { additionalProperties: false });
export type TriggerBody = Static<typeof TriggerBody>;

export const TriggeredJobView = Type.Object({ id: Type.String(), workflow: Type.String(), runAt: Type.String(), status: Type.String() });
export const TriggerResponse = Type.Object({
  jobs: Type.Array(TriggeredJobView),
  message: Type.Optional(Type.String()),
  moved: Type.Optional(Type.Integer()),
  cancelled: Type.Optional(Type.Integer()),
});

export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const ListQuery = Type.Object({
  trigger: Type.Optional(TriggerEventSchema),
  isActive: Type.Optional(Type.Boolean()),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
}, { additionalProperties: false });

const Name = Type.String({ minLength: 1, maxLength: 200 });
const Delay = Type.Integer({ minimum: -MAX_DELAY, maximum: MAX_DELAY });

export const WorkflowBody = Type.Object({
  name: Name,
  trigger: TriggerEventSchema,
  channel: Type.Literal('whatsapp', { default: 'whatsapp' }),
  templateName: Type.String({ minLength: 1, maxLength: 512 }),
  language: Type.Optional(Type.String({ minLength: 2, maxLength: 16 })),
  delayMinutes: Type.Optional(Delay),
  isActive: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });
export type WorkflowBody = Static<typeof WorkflowBody>;
export const WorkflowPatch = Type.Partial(WorkflowBody, { additionalProperties: false, minProperties: 1 });

export const WorkflowView = Type.Object({
  id: Type.String(), name: Type.String(), trigger: Type.String(), channel: Type.String(), templateName: Type.String(),
  language: Type.Union([Type.String(), Type.Null()]), delayMinutes: Type.Integer(), isActive: Type.Boolean(),
  createdAt: Type.String(), updatedAt: Type.String(),
});

export const ActionSchema = Type.Object({
  type: Type.String({ minLength: 1, maxLength: 64, description: 'send_whatsapp, update_lead, webhook (and any registered action type)' }),
  delayMinutes: Type.Integer({ minimum: -MAX_DELAY, maximum: MAX_DELAY, default: 0 }),
  config: Type.Record(Type.String(), Type.Unknown(), { default: {} }),
}, { additionalProperties: false });

export const AutomationBody = Type.Object({
  name: Name,
  trigger: TriggerEventSchema,
  triggerConfig: Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { default: {}, maxProperties: 20 }),
  actions: Type.Array(ActionSchema, { minItems: 1, maxItems: 20 }),
  isActive: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });
export type AutomationBody = Static<typeof AutomationBody>;
export const AutomationPatch = Type.Object({
  name: Type.Optional(Name),
  trigger: Type.Optional(TriggerEventSchema),
  triggerConfig: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 20 })),
  actions: Type.Optional(Type.Array(ActionSchema, { minItems: 1, maxItems: 20 })),
  isActive: Type.Optional(Type.Boolean()),
}, { additionalProperties: false, minProperties: 1 });

export const AutomationView = Type.Object({
  id: Type.String(), name: Type.String(), trigger: Type.String(), triggerConfig: Type.Record(Type.String(), Type.Unknown()),
  actions: Type.Array(Type.Object({ type: Type.String(), delayMinutes: Type.Integer(), config: Type.Record(Type.String(), Type.Unknown()) })),
  isActive: Type.Boolean(), createdAt: Type.String(), updatedAt: Type.String(),
});

export const JobView = Type.Object({
  id: Type.String(), workflow: Type.String(), workflowId: Type.Union([Type.String(), Type.Null()]), runId: Type.String(), step: Type.Integer(),
  action: Type.String(), trigger: Type.String(), phone: Type.Union([Type.String(), Type.Null()]), status: Type.String(), runAt: Type.String(),
  attempts: Type.Integer(), lastError: Type.Union([Type.String(), Type.Null()]), output: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  metadata: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  callback: Type.Union([Type.Object({ status: Type.Union([Type.String(), Type.Null()]), attempts: Type.Integer(), error: Type.Union([Type.String(), Type.Null()]) }), Type.Null()]),
  createdAt: Type.String(), startedAt: Type.Union([Type.String(), Type.Null()]), finishedAt: Type.Union([Type.String(), Type.Null()]), updatedAt: Type.String(),
});
export const JobDetailView = Type.Intersect([JobView, Type.Object({
  attemptHistory: Type.Array(Type.Object({
    attempt: Type.Integer(), startedAt: Type.String(), finishedAt: Type.Union([Type.String(), Type.Null()]), outcome: Type.String(),
    error: Type.Union([Type.String(), Type.Null()]), output: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  })),
})]);

export const JobListQuery = Type.Object({
  status: Type.Optional(Type.Union(['pending', 'processing', 'completed', 'failed', 'skipped', 'cancelled'].map((s) => Type.Literal(s)))),
  trigger: Type.Optional(TriggerEventSchema),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'run time at or after' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'run time before' })),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
}, { additionalProperties: false });
