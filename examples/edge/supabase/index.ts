/**
 * A Supabase Edge Function serving wsrpc. Copy this folder to
 * `supabase/functions/wsrpc/` (replacing the relative imports with
 * `jsr:@wsrpc/protocol`), then
 * `supabase functions deploy wsrpc --no-verify-jwt`; serve locally with
 * `supabase functions serve wsrpc --no-verify-jwt`, or with plain Deno:
 * `deno run -A examples/edge/supabase/index.ts`.
 */
import { handler } from "./wsrpc.ts";

Deno.serve(handler);
