// Minimal types for mailparser (no @types package in our registry): only what the tests use.
declare module 'mailparser' {
  export interface ParsedMail {
    subject?: string;
    text?: string;
    html?: string | false;
    messageId?: string;
    from?: AddressObject;
    to?: AddressObject;
    replyTo?: AddressObject;
    bcc?: AddressObject;
    date?: Date;
    headerLines: Array<{ key: string; line: string }>;
    headers: Map<string, unknown>;
  }
  export interface AddressObject {
    value: Array<{ address?: string; name: string }>;
    text: string;
  }
  export function simpleParser(source: Buffer | string | NodeJS.ReadableStream): Promise<ParsedMail>;
}
