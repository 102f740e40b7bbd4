/** `/api/crm/appointments`: book, list, show, update (status, details, reminders), reschedule, cancel. */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AuthHooks } from '../../auth/auth-hooks.ts';
import type { AppContext } from '../../context.ts';
import { Cursor, IdParams, Limit, crmTags, errorResponses } from '../shared/schema.ts';
import { decodeCursor, encodeCursor } from '../shared/cursor.ts';
import { listAppointmentRows, presentAppointment } from './appointments.repo.ts';
import { bookAppointment, type BookAppointmentOptions } from './book-appointment.ts';
import { cancelAppointment, rescheduleAppointment, showAppointment, updateAppointment, type UpdateAppointmentOptions } from './change-appointment.ts';

const tags = crmTags('appointments');
const Offsets = Type.Array(Type.Integer({ minimum: 1, maximum: 43_200 }), { maxItems: 10 });
const Text = (max: number) => Type.Union([Type.String({ maxLength: max }), Type.Null()]);
const BookBody = Type.Object({
  contactId: Type.String({ format: 'uuid' }),
  title: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  startsAt: Type.String({ format: 'date-time' }),
  endsAt: Type.String({ format: 'date-time' }),
  timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  status: Type.Optional(Type.Union([Type.Literal('scheduled'), Type.Literal('confirmed')])),
  location: Type.Optional(Text(500)),
  meetingUrl: Type.Optional(Type.Union([Type.String({ format: 'uri', maxLength: 2000 }), Type.Null()])),
  meet: Type.Optional(Type.Boolean({ description: 'Create a Google Meet link on the client\'s connected Google account (a sandbox link without Google credentials); stored as meetingUrl and moved/cancelled with the appointment' })),
  reminderOffsets: Type.Optional(Offsets),
  notes: Type.Optional(Text(5000)),
}, { additionalProperties: false });
const UpdateBody = Type.Object({
  title: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  location: Type.Optional(Text(500)),
  meetingUrl: Type.Optional(Type.Union([Type.String({ format: 'uri', maxLength: 2000 }), Type.Null()])),
  notes: Type.Optional(Text(5000)),
  reminderOffsets: Type.Optional(Offsets),
  status: Type.Optional(Type.Union([Type.Literal('scheduled'), Type.Literal('confirmed'), Type.Literal('attended'), Type.Literal('no_show')])),
}, { additionalProperties: false, minProperties: 1 });
const ListQuery = Type.Object({
  contactId: Type.Optional(Type.String({ format: 'uuid' })),
  status: Type.Optional(Type.String({ maxLength: 20 })),
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
  limit: Limit,
  cursor: Cursor,
});

export async function registerAppointmentRoutes(app: FastifyInstance, ctx: AppContext, auth: AuthHooks): Promise<void> {
  app.post('/api/crm/appointments', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Book an appointment; fires appointment_confirmed and schedules reminders at each offset', body: BookBody, response: errorResponses },
  }, async (request, reply) => reply.status(201).send(await bookAppointment(ctx, await request.tenantDb(), request.client!.id, request.body as BookAppointmentOptions)));

  app.get('/api/crm/appointments', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'List appointments by start time (filters: contact, status, from/to)', querystring: ListQuery, response: errorResponses },
  }, async (request) => {
    const query = request.query as { contactId?: string; status?: string; from?: string; to?: string; limit: number; cursor?: string };
    const after = query.cursor ? decodeCursor(query.cursor, 2) as [string, string] : undefined;
    const rows = await listAppointmentRows(await request.tenantDb(), { ...query, after, limit: query.limit + 1 });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return { items: page.map(presentAppointment), nextCursor: rows.length > query.limit && last ? encodeCursor([last.sort_value, last.id]) : null };
  });

  app.get('/api/crm/appointments/:id', {
    preHandler: auth.tenant, schema: { ...tags, summary: 'Show an appointment', params: IdParams, response: errorResponses },
  }, async (request) => showAppointment(await request.tenantDb(), (request.params as { id: string }).id));

  app.patch('/api/crm/appointments/:id', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Update details, reminder offsets or status (confirmed, attended, no_show)', params: IdParams, body: UpdateBody, response: errorResponses },
  }, async (request) => updateAppointment(ctx, await request.tenantDb(), request.client!.id, (request.params as { id: string }).id, request.body as UpdateAppointmentOptions));

  app.post('/api/crm/appointments/:id/reschedule', {
    preHandler: auth.tenant,
    schema: {
      ...tags, summary: 'Move an appointment; fires appointment_rescheduled and moves its pending reminders', params: IdParams,
      body: Type.Object({ startsAt: Type.String({ format: 'date-time' }), endsAt: Type.String({ format: 'date-time' }), timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }, { additionalProperties: false }),
      response: errorResponses,
    },
  }, async (request) => rescheduleAppointment(ctx, await request.tenantDb(), request.client!.id, (request.params as { id: string }).id, request.body as { startsAt: string; endsAt: string }));

  app.post('/api/crm/appointments/:id/cancel', {
    preHandler: auth.tenant,
    schema: { ...tags, summary: 'Cancel an appointment; fires appointment_cancelled and drops its pending reminders', params: IdParams, body: Type.Optional(Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false })), response: errorResponses },
  }, async (request) => cancelAppointment(ctx, await request.tenantDb(), request.client!.id, (request.params as { id: string }).id, (request.body as { reason?: string } | undefined) ?? {}));
}
