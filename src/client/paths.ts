/** The ids that name one response. */
export interface ResponseRef {
  conversationId: string;
  responseId: string;
}

export function enc(id: string): string {
  return encodeURIComponent(id);
}

export function responsePath(ref: ResponseRef): string {
  return `/conversations/${enc(ref.conversationId)}/responses/${enc(ref.responseId)}`;
}
