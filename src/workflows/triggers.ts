/** The trigger events of the original contract, and automation action types known today. */
export const TRIGGER_EVENTS = [
  'appointment_confirmed',
  'appointment_reminder',
  'appointment_cancelled',
  'appointment_rescheduled',
  'product_purchased',
  'service_enrolled',
  'lead_captured',
] as const;
export type TriggerEvent = (typeof TRIGGER_EVENTS)[number];

export function isTriggerEvent(value: string): value is TriggerEvent {
  return (TRIGGER_EVENTS as readonly string[]).includes(value);
}
