/** Every domain-event subscriber, in one list (see DomainEventSubscriber in platform/events.ts). */
import type { AppContext } from './context.ts';
import type { DomainEventSubscriber } from './platform/events.ts';
import { automationsSubscriber } from './workflows/index.ts';
import { appointmentMeetingSubscriber, scoreOnEventSubscriber } from './crm/index.ts';

export const domainEventSubscribers: DomainEventSubscriber<AppContext>[] = [
  automationsSubscriber,
  scoreOnEventSubscriber,
  appointmentMeetingSubscriber,
];
