/** @ecodrix/sdk — typed client for the ECODrIx API and callback verification. */
export { EcodrixClient, EcodrixApiError, SDK_ROUTES, type EcodrixClientOptions, type TriggerEvent, type TriggerRequest, type TriggerResponse } from './client.ts';
export { verifyCallback, signCallback, CallbackVerificationError, type CallbackPayload, type VerifyCallbackOptions, type HeaderSource } from './verify-callback.ts';
