/** The realtime domain: Socket.io gateway for dashboards, handshake tokens, cross-process publishing. */
export { attachRealtimeGateway, RealtimeGateway, clientRoom, conversationRoom } from './gateway.ts';
export { registerRealtimeRoutes } from './routes.ts';
export { NotifyPublisher, REALTIME_CHANNEL } from './notify-publisher.ts';
