import { connect } from "cloudflare:sockets";
import type { ProbeOutcome, ProbeReason, ProbeTarget } from "./health";
import {
  Attribute,
  decodeMessage,
  encodeMessage,
  errorCodeOf,
  longTermKey,
  MessageType,
  messageSize,
  newTransactionId,
  sameTransaction,
  text,
  textOf,
  UDP_TRANSPORT,
  xorAddressOf,
  type StunAttribute,
  type StunMessage,
} from "./stun";

/**
 * One health probe of one TURN host, over TCP from the Worker (Workers have no UDP): a STUN
 * binding request (is coturn there and speaking STUN?), then a TURN Allocate with a credential
 * minted a moment ago (does it share our secret?), then a Refresh with LIFETIME 0 to free the
 * allocation. A coturn whose `static-auth-secret` differs answers 401 even after the nonce:
 * `auth_failed`. The whole probe is bounded by `timeoutMs`.
 */

/** One request, one answer, over a connection to the host. */
export interface StunTransport {
  /** Sends one message and resolves with the next whole message the host sends back. */
  exchange(request: Uint8Array): Promise<Uint8Array>;
  close(): void;
}

/** How long a probe waits for the answer to its Refresh 0 before closing the connection anyway. */
const RELEASE_WAIT_MS = 1000;

/** A probe that stopped early: why, in the words the health state keeps. */
class ProbeFailure extends Error {
  constructor(
    readonly reason: Exclude<ProbeReason, "ok">,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/**
 * Binding, Allocate (challenge, then with the long-term credential; once more on 438 Stale
 * Nonce), Refresh 0. Pure protocol over `transport`; returns what the host proved or refused.
 */
export async function turnConversation(transport: StunTransport, credential: { username: string; password: string }): Promise<ProbeOutcome> {
  try {
    return await converse(transport, credential);
  } catch (error) {
    return outcomeOf(error);
  }
}

function outcomeOf(error: unknown): ProbeOutcome {
  if (error instanceof ProbeFailure) return { reason: error.reason, detail: error.detail, latencyMs: null };
  return { reason: "bad_response", detail: String(error), latencyMs: null };
}

async function converse(transport: StunTransport, credential: { username: string; password: string }): Promise<ProbeOutcome> {
  const ask = async (type: number, attributes: StunAttribute[], integrityKey?: Uint8Array) => {
    const transactionId = newTransactionId();
    const request = await encodeMessage({ type, transactionId, attributes }, { ...(integrityKey ? { integrityKey } : {}), fingerprint: true });
    let answer: StunMessage;
    try {
      answer = decodeMessage(await transport.exchange(request));
    } catch (error) {
      if (error instanceof ProbeFailure) throw error;
      throw new ProbeFailure("bad_response", `the answer is not STUN: ${String((error as Error).message ?? error)}`);
    }
    if (!sameTransaction(answer.transactionId, transactionId)) throw new ProbeFailure("bad_response", "the answer belongs to another transaction");
    return answer;
  };

  const started = Date.now();
  const binding = await ask(MessageType.BindingRequest, []);
  if (binding.type !== MessageType.BindingSuccess) throw new ProbeFailure("bad_response", `binding request answered with type 0x${binding.type.toString(16)}`);
  // Workers' clock moves on I/O only; this is the round trip of the binding request.
  const latencyMs = Date.now() - started;
  const seenAs = xorAddressOf(binding) ?? "an address it did not say";

  const udpRelay = { type: Attribute.RequestedTransport, value: UDP_TRANSPORT };
  let challenge = await ask(MessageType.AllocateRequest, [udpRelay]);
  if (challenge.type === MessageType.AllocateSuccess) return { reason: "ok", detail: "allocated without authentication (coturn has no use-auth-secret)", latencyMs };
  for (let attempt = 0; attempt < 2; attempt++) {
    const refusal = errorCodeOf(challenge);
    const realm = textOf(challenge, Attribute.Realm);
    const nonce = textOf(challenge, Attribute.Nonce);
    if (challenge.type !== MessageType.AllocateError || !refusal) throw new ProbeFailure("bad_response", `allocate answered with type 0x${challenge.type.toString(16)}`);
    if (attempt === 0 && (refusal.code !== 401 || realm === undefined || nonce === undefined)) {
      throw new ProbeFailure("allocate_refused", `allocate refused before authentication: ${refusal.code} ${refusal.reason}`);
    }
    if (realm === undefined || nonce === undefined) throw new ProbeFailure("allocate_refused", `allocate refused: ${refusal.code} ${refusal.reason}`);

    const key = await longTermKey(credential.username, realm, credential.password);
    const identity = [
      { type: Attribute.Username, value: text(credential.username) },
      { type: Attribute.Realm, value: text(realm) },
      { type: Attribute.Nonce, value: text(nonce) },
    ];
    const answer = await ask(MessageType.AllocateRequest, [udpRelay, ...identity], key);
    if (answer.type === MessageType.AllocateSuccess) {
      // Free the relay at once (a TCP allocation also ends with its connection): best effort,
      // and never what makes a healthy host time out.
      const release = ask(MessageType.RefreshRequest, [{ type: Attribute.Lifetime, value: new Uint8Array(4) }, ...identity], key).catch(() => undefined);
      await Promise.race([release, new Promise((done) => setTimeout(done, RELEASE_WAIT_MS))]);
      return { reason: "ok", detail: `binding answered (the Worker seen as ${seenAs}); allocation granted with a fresh credential, then released`, latencyMs };
    }
    const error = errorCodeOf(answer);
    if (error?.code === 438) {
      challenge = answer;
      continue;
    }
    if (error?.code === 401) {
      throw new ProbeFailure("auth_failed", "401 Unauthorized after the nonce: this host's static-auth-secret is not the Worker's TURN_SECRETS[0]");
    }
    throw new ProbeFailure("allocate_refused", error ? `allocate refused: ${error.code} ${error.reason}` : `allocate answered with type 0x${answer.type.toString(16)}`);
  }
  throw new ProbeFailure("allocate_refused", "438 Stale Nonce twice in a row");
}

/**
 * Probes `target` with `credential`, never longer than `timeoutMs` (connect and every read
 * included), and never throws: every failure is an outcome.
 */
export async function probeHost(target: ProbeTarget, credential: { username: string; password: string }, timeoutMs: number): Promise<ProbeOutcome> {
  let transport: StunTransport | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProbeFailure("timeout", `no complete answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    transport = await Promise.race([openTransport(target), expired]);
    return await Promise.race([turnConversation(transport, credential), expired]);
  } catch (error) {
    return outcomeOf(error);
  } finally {
    clearTimeout(timer);
    transport?.close();
  }
}

/**
 * A TCP (or TLS) connection from the Worker with `connect()`. STUN over TCP has no framing of
 * its own: each message's header says its length, so a read takes 20 + length bytes.
 */
async function openTransport(target: ProbeTarget): Promise<StunTransport> {
  const socket = connect({ hostname: target.host.replace(/^\[|\]$/g, ""), port: target.port }, { secureTransport: target.tls ? "on" : "off", allowHalfOpen: false });
  try {
    await socket.opened;
  } catch (error) {
    socket.close().catch(() => undefined);
    throw new ProbeFailure("unreachable", `no ${target.tls ? "TLS" : "TCP"} connection to ${target.host}:${target.port}: ${String((error as Error).message ?? error)}`);
  }
  const writer = socket.writable.getWriter();
  const reader = socket.readable.getReader();
  let buffered = new Uint8Array(0);
  return {
    async exchange(request) {
      await writer.write(request);
      for (;;) {
        const size = messageSize(buffered);
        if (size !== undefined && buffered.length >= size) {
          const message = buffered.slice(0, size);
          buffered = buffered.slice(size);
          return message;
        }
        const { value, done } = await reader.read();
        if (done) throw new ProbeFailure("bad_response", "the host closed the connection before answering");
        const next = new Uint8Array(buffered.length + value.length);
        next.set(buffered);
        next.set(value, buffered.length);
        buffered = next;
      }
    },
    close: () => {
      socket.close().catch(() => undefined);
    },
  };
}
