/**
 * The simulator's message templates, in Meta's list shape, so they sync like
 * real ones. The appointment templates match the original trigger examples
 * (four body parameters: name, doctor, time, meeting code).
 */
import type { GraphTemplate } from '../whatsapp/graph-client.ts';

function appointment(name: string, id: string, text: string): GraphTemplate {
  return {
    id, name, language: 'en_US', status: 'APPROVED', category: 'UTILITY', parameter_format: 'POSITIONAL',
    components: [
      { type: 'BODY', text, example: { body_text: [['Dhanesh', 'Dr. Arjun', 'Monday 10AM', 'abc-xyz']] } },
      { type: 'FOOTER', text: 'Sent from the ECODrIx sandbox' },
    ],
  };
}

export const SAMPLE_TEMPLATES: GraphTemplate[] = [
  appointment('appointment_confirmed', '1700000000000001', 'Hi {{1}}, your appointment with {{2}} is confirmed for {{3}}. Join the video call with code {{4}}.'),
  appointment('appointment_reminder', '1700000000000002', 'Reminder: {{1}}, you see {{2}} at {{3}}. Meeting code: {{4}}.'),
  appointment('appointment_cancelled', '1700000000000003', 'Hi {{1}}, your appointment with {{2}} at {{3}} was cancelled (ref {{4}}).'),
  appointment('appointment_rescheduled', '1700000000000004', 'Hi {{1}}, your appointment with {{2}} moved to {{3}}. New meeting code: {{4}}.'),
  {
    id: '1700000000000005', name: 'hello_world', language: 'en_US', status: 'APPROVED', category: 'UTILITY', parameter_format: 'POSITIONAL',
    components: [{ type: 'HEADER', format: 'TEXT', text: 'Hello World' }, { type: 'BODY', text: 'Welcome and congratulations!! This message comes from the ECODrIx WhatsApp sandbox.' }],
  },
  {
    id: '1700000000000006', name: 'order_update', language: 'pt_BR', status: 'APPROVED', category: 'UTILITY', parameter_format: 'POSITIONAL',
    components: [
      { type: 'HEADER', format: 'IMAGE', example: { header_handle: ['https://example.com/header.jpg'] } },
      { type: 'BODY', text: 'Olá {{1}}! Seu pedido de {{2}} foi enviado em {{3}}.', example: { body_text: [['Ana', 'R$ 120,50', '19/10/2026']] } },
      { type: 'BUTTONS', buttons: [{ type: 'QUICK_REPLY', text: 'Rastrear pedido' }, { type: 'URL', text: 'Ver pedido', url: 'https://shop.example.com/orders/{{1}}', example: ['https://shop.example.com/orders/ORD-1042'] }] },
    ],
  },
  {
    id: '1700000000000007', name: 'welcome_back', language: 'en_US', status: 'APPROVED', category: 'MARKETING', parameter_format: 'NAMED',
    components: [{ type: 'BODY', text: 'Hi {{first_name}}, we saved your cart. Use code {{code}} for 10% off.', example: { body_text_named_params: [{ param_name: 'first_name', example: 'Ana' }, { param_name: 'code', example: 'BACK10' }] } }],
  },
  {
    id: '1700000000000008', name: 'shipping_delay', language: 'en_US', status: 'PAUSED', category: 'UTILITY', parameter_format: 'POSITIONAL',
    components: [{ type: 'BODY', text: 'Your order {{1}} is delayed. New estimate: {{2}}.' }],
  },
];
