// The show channel client (docs/protocol.md): connect, snapshot, events in seq
// order without duplicates, gap-free resume after a drop, and chat sends that are
// retried with the same client_msg_id until the server answers them.
//
// The page listens to what it needs:
//   channel.on("snapshot", (snapshot) => ...)   the whole state, replaces everything
//   channel.on("event", (event) => ...)          one log event, {seq, type, data}, in order
//   channel.on("reactions" | "presence", (frame) => ...)
//   channel.on("status", ({state, detail}) => ...)  connecting, open, offline, refused
//   channel.on("resumed", (frame) => ...)

const PROTOCOL = "liveshop.v1";
// Close codes after which reconnecting cannot help (docs/protocol.md 1.2).
const FINAL_CLOSE_CODES = new Map([
  [4003, "This page's address is not allowed to open the show channel."],
  [4004, "This show does not exist or is not public."],
  [4400, "The channel refused the resume position."],
]);
const BACKOFF_STEPS_SECONDS = [1, 2, 4, 8, 16, 30];
// A socket that has said nothing for this long after a ping is dead (a phone that
// slept, a NAT that forgot the connection): it is dropped and resumed.
const PING_EVERY_MS = 25000;
const PONG_WITHIN_MS = 10000;

function uuid4() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class ShowChannel {
  constructor(publicId) {
    this.publicId = publicId;
    this.epoch = null;
    this.seq = null;
    this.listeners = new Map();
    this.socket = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.closedForGood = false;
    // client_msg_id -> {frame, resolve, reject}: sends not answered yet. They are
    // sent again after a reconnect; the server stores each id once.
    this.pending = new Map();
    this.lastFrameAt = 0;
    this.heartbeat = null;
    window.addEventListener("online", () => this.reconnectNow());
    // The browser knows the network is gone before the socket does: drop it now
    // and resume from the last seq when the network is back.
    window.addEventListener("offline", () => this.drop());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.wake();
    });
    // Chrome on Android freezes background pages and fires "resume" on return.
    document.addEventListener("resume", () => this.wake());
  }

  on(kind, listener) {
    if (!this.listeners.has(kind)) this.listeners.set(kind, []);
    this.listeners.get(kind).push(listener);
    return this;
  }

  emit(kind, value) {
    for (const listener of this.listeners.get(kind) || []) {
      try {
        listener(value);
      } catch (error) {
        console.error(error);
      }
    }
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const query = this.epoch !== null && this.seq !== null
      ? `?epoch=${encodeURIComponent(this.epoch)}&seq=${this.seq}`
      : "";
    return `${scheme}://${location.host}/ws/shows/${encodeURIComponent(this.publicId)}/${query}`;
  }

  connect() {
    if (this.closedForGood) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) return;
    if (!navigator.onLine) {
      this.emit("status", { state: "offline", retryIn: null });
      return;
    }
    this.emit("status", { state: "connecting" });
    // Browsers authenticate with the session cookie; the server checks Origin.
    const socket = new WebSocket(this.url(), [PROTOCOL]);
    this.socket = socket;
    socket.addEventListener("open", () => {
      if (socket !== this.socket) return;
      this.attempt = 0;
      this.lastFrameAt = Date.now();
      this.heartbeatStart();
      this.emit("status", { state: "open" });
      for (const { frame } of this.pending.values()) socket.send(JSON.stringify(frame));
    });
    socket.addEventListener("message", (message) => {
      if (socket !== this.socket) return;
      this.lastFrameAt = Date.now();
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch (error) {
        return;
      }
      this.frameHandle(frame);
    });
    socket.addEventListener("close", (event) => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.closed(event);
    });
  }

  heartbeatStart() {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return;
      if (Date.now() - this.lastFrameAt > PING_EVERY_MS + PONG_WITHIN_MS) {
        this.drop();
        return;
      }
      if (Date.now() - this.lastFrameAt > PING_EVERY_MS) {
        this.socket.send(JSON.stringify({ type: "ping" }));
      }
    }, PONG_WITHIN_MS / 2);
  }

  // Gives up the current socket as if the network had closed it; the usual
  // reconnect with resume follows (at once when the browser is online).
  drop() {
    const socket = this.socket;
    if (!socket) return;
    this.socket = null;
    clearInterval(this.heartbeat);
    try {
      socket.close(4000, "client_offline");
    } catch (error) {
      // Already closing.
    }
    this.closed({ code: 1006 });
  }

  closed(event) {
    clearInterval(this.heartbeat);
    const final = FINAL_CLOSE_CODES.get(event.code);
    if (final) {
      this.closedForGood = true;
      this.emit("status", { state: "refused", detail: final, code: event.code });
      return;
    }
    if (event.code === 4001) {
      // The session ended: go on as an anonymous viewer from a fresh snapshot.
      this.epoch = null;
      this.seq = null;
    }
    const base = BACKOFF_STEPS_SECONDS[Math.min(this.attempt, BACKOFF_STEPS_SECONDS.length - 1)];
    // 4008: the server asks for at least 30 s of quiet.
    const seconds = event.code === 4008 ? 30 : base * (0.5 + Math.random());
    this.attempt += 1;
    this.emit("status", { state: "offline", retryIn: seconds, code: event.code });
    // Offline: the "online" event reconnects; no point in retrying before it.
    if (navigator.onLine) this.retryTimer = setTimeout(() => this.connect(), seconds * 1000);
  }

  // The page is shown again, maybe after the phone slept: timers did not run
  // meanwhile, so a socket that still looks open may be dead. It must answer a
  // ping within PONG_WITHIN_MS or it is dropped and resumed.
  wake() {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      this.reconnectNow();
      return;
    }
    const askedAt = Date.now();
    socket.send(JSON.stringify({ type: "ping" }));
    setTimeout(() => {
      if (socket === this.socket && this.lastFrameAt < askedAt) this.drop();
    }, PONG_WITHIN_MS);
  }

  // After the network comes back or the page is shown again, do not wait for the backoff.
  reconnectNow() {
    if (this.closedForGood || this.socket) return;
    this.attempt = 0;
    this.connect();
  }

  // For tests and for pages that leave: close without reconnecting.
  close() {
    this.closedForGood = true;
    clearTimeout(this.retryTimer);
    if (this.socket) this.socket.close(1000);
  }

  frameHandle(frame) {
    switch (frame.type) {
      case "snapshot":
        this.epoch = frame.epoch;
        this.seq = frame.seq;
        this.emit("snapshot", frame);
        break;
      case "batch":
        for (const event of frame.events) {
          // Around a resume an event can arrive twice: only a larger seq is new.
          if (this.seq !== null && event.seq <= this.seq) continue;
          this.seq = event.seq;
          this.emit("event", event);
        }
        if (this.seq === null || frame.seq > this.seq) this.seq = frame.seq;
        break;
      case "resumed":
        if (frame.recovered) {
          if (frame.epoch) this.epoch = frame.epoch;
          if (typeof frame.seq === "number" && frame.seq > this.seq) this.seq = frame.seq;
        }
        this.emit("resumed", frame);
        break;
      case "ack":
        this.settle(frame.client_msg_id, (pending) => pending.resolve(frame));
        break;
      case "error":
        if (frame.client_msg_id) {
          this.settle(frame.client_msg_id, (pending) => pending.reject(frame));
        } else {
          this.emit("error", frame);
        }
        break;
      default:
        this.emit(frame.type, frame);
    }
  }

  settle(clientMsgId, action) {
    const pending = this.pending.get(clientMsgId);
    if (!pending) return;
    this.pending.delete(clientMsgId);
    action(pending);
  }

  // Sends a chat message; resolves with the ack, rejects with the error frame.
  // While the socket is down the message waits and goes out on reconnect.
  send({ text, replyTo = null, question = false }) {
    const frame = { type: "message.send", client_msg_id: uuid4(), text };
    if (replyTo !== null) frame.reply_to = replyTo;
    if (question) frame.question = true;
    return new Promise((resolve, reject) => {
      this.pending.set(frame.client_msg_id, { frame, resolve, reject });
      if (this.socket && this.socket.readyState === WebSocket.OPEN) {
        this.socket.send(JSON.stringify(frame));
      }
    });
  }

  react(kind) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: "reaction", kind }));
    }
  }
}
