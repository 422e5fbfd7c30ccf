// The only way the dashboard reaches the service: the public
// TalentGapService over gRPC-web, with the Connect-ES client generated
// from proto/ (src/gen, by buf). The token, when given, travels as the
// same bearer header every other client sends.

import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { TalentGapService } from "./gen/skills/v1/talent_gap_pb.js";

export type Api = Client<typeof TalentGapService>;

const TOKEN_KEY = "skills-dashboard-token";

/** The token kept for this browser tab (none: the public view). */
export function storedToken(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

export function storeToken(token: string): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export function connect(token: string): Api {
  const bearer: Interceptor = (next) => async (request) => {
    if (token) request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
  const transport = createGrpcWebTransport({ baseUrl: window.location.origin, interceptors: [bearer] });
  return createClient(TalentGapService, transport);
}
