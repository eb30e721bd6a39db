// The studio console: one show for its hosts, moderators and service staff.
// Everything goes through the public REST API (docs/protocol.md, sections 8
// and 9) and the show channel; the page only offers what the snapshot's `me`
// allows, and shows the server's `detail` when it refuses anyway.
import { api, apiList, ApiError } from "./api.js";
import { ShowChannel } from "./channel.js";
import { messageText } from "./message-text.js";
import { button, durationLabel, node } from "./studio-dom.js";

const root = document.getElementById("studio");
const publicId = root.dataset.publicId;
const base = `shows/${encodeURIComponent(publicId)}`;
const $ = (id) => document.getElementById(id);

const REPORT_EVERY_MS = 5000;
const TIMEOUTS_SECONDS = [60, 600, 3600, 86400];

const state = {
  me: null,
  status: null,
  lineup: [],
  // product id -> open pin object
  pins: new Map(),
  // product id -> {clicks, orders}, summed over the product's pins
  productCounts: new Map(),
  messages: new Map(),
  held: new Map(),
  questions: new Map(),
};

// --- Actions and their answers ------------------------------------------------------

function notice(text) {
  $("studio-error").textContent = "";
  $("studio-notice").textContent = text;
}

function failure(error) {
  $("studio-notice").textContent = "";
  $("studio-error").textContent = error instanceof ApiError ? error.message : error.detail || String(error);
}

// Runs one REST action from a control: disabled while it runs, the server's
// refusal shown as it was sent.
async function act(control, call, success) {
  $("studio-error").textContent = "";
  if (control) control.disabled = true;
  try {
    const result = await call();
    if (success) success(result);
    return result;
  } catch (error) {
    failure(error);
    return undefined;
  } finally {
    if (control) control.disabled = false;
  }
}

function post(path, body) {
  return api(`${base}/${path}`, { method: "POST", body });
}

// --- Who may do what ----------------------------------------------------------------

function capabilitiesApply(me) {
  const allowed = {
    team: me.is_team,
    moderate: me.can_moderate,
    answer: me.can_answer,
    // Merchandisers may read the ingest too, but the studio is for the show's own hosts.
    host: me.role === "host",
  };
  for (const element of root.querySelectorAll("[data-needs]")) {
    element.hidden = !allowed[element.dataset.needs];
  }
  $("not-team").hidden = me.is_team;
}

// --- Header: status and numbers ---------------------------------------------------------

function statusShow(status) {
  state.status = status;
  $("show-status").textContent = status;
  $("end-show").hidden = status !== "live";
  // The chat is open while the show is scheduled or live (docs/protocol.md 2.5, chat_closed).
  $("team-send-form").hidden = !["scheduled", "live"].includes(status);
  lineupRender();
}

function viewersShow(count, peak) {
  $("stat-viewers").textContent = String(count);
  $("stat-peak").textContent = String(peak);
}

async function reportRefresh() {
  if (!state.me || !state.me.can_moderate || document.visibilityState !== "visible") return;
  let report;
  try {
    report = await api(`${base}/report`);
  } catch (error) {
    // The numbers stay as they were; the next poll tries again.
    return;
  }
  $("stat-clicks").textContent = String(report.totals.clicks);
  $("stat-orders").textContent = String(report.totals.orders);
  state.productCounts.clear();
  for (const pin of report.pins) {
    const counts = state.productCounts.get(pin.product.id) || { clicks: 0, orders: 0 };
    counts.clicks += pin.clicks;
    counts.orders += pin.orders;
    state.productCounts.set(pin.product.id, counts);
  }
  lineupRender();
}

// --- Lineup and pinned products -----------------------------------------------------------

async function lineupLoad() {
  const show = await api(base);
  state.lineup = show.lineup;
  lineupRender();
}

function counted(count, noun) {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

function priceLabel(item) {
  if (item.show_price_applies) return `${item.show_price} ${item.currency} show price (regular ${item.price_min})`;
  if (item.price_min === null) return null;
  const range = item.price_max !== item.price_min ? `${item.price_min}–${item.price_max}` : item.price_min;
  return `${range} ${item.currency}`;
}

function lineupRender() {
  const list = $("lineup");
  const live = state.status === "live";
  const items = state.lineup.map((item) => {
    const pin = state.pins.get(item.product_id);
    const counts = state.productCounts.get(item.product_id) || { clicks: 0, orders: 0 };
    const meta = [
      priceLabel(item),
      counted(counts.clicks, "click"),
      counted(counts.orders, "order"),
      pin ? "pinned" : null,
    ].filter(Boolean).join(" · ");
    let control = null;
    if (pin) {
      control = button("Unpin", item.title, (click) =>
        act(click.currentTarget, () => api(`${base}/pins/${pin.id}`, { method: "DELETE" }), () => {
          state.pins.delete(item.product_id);
          lineupRender();
          notice(`Unpinned ${item.title}.`);
        }));
    } else if (live) {
      control = button("Pin", item.title, (click) =>
        act(click.currentTarget, () => post("pins", { product_id: item.product_id }), (created) => {
          state.pins.set(item.product_id, created);
          lineupRender();
          notice(`Pinned ${item.title}.`);
        }), "primary");
    }
    return node(
      "li",
      {
        class: "lineup-item",
        dataset: { productId: item.product_id, pinned: String(Boolean(pin)), pinId: pin ? pin.id : "" },
      },
      node("span", { class: "title", text: item.title }),
      node("span", { class: "meta", text: meta }),
      control,
    );
  });
  $("pin-count").textContent = live
    ? `${state.pins.size} pinned now.`
    : "Products can be pinned while the show is live.";
  // The report poll re-renders every few seconds: leave the rows alone when
  // nothing they show changed, so focus and screen readers are not disturbed.
  const signature = JSON.stringify([live, items.map((item) => [item.dataset.pinId, item.textContent])]);
  if (signature === list.dataset.signature) return;
  list.dataset.signature = signature;
  // Focus stays on the row's new button after a pin or an unpin.
  const focused = document.activeElement && list.contains(document.activeElement)
    ? document.activeElement.closest("li").dataset.productId
    : null;
  list.replaceChildren(...items);
  if (focused) {
    const again = list.querySelector(`li[data-product-id="${focused}"] button`);
    if (again) again.focus();
  }
}

function pinsReplace(pins) {
  state.pins.clear();
  for (const pin of pins) state.pins.set(pin.product.id, pin);
  lineupRender();
}

// --- Chat ---------------------------------------------------------------------------------

function authorName(message) {
  return message.author ? message.author.name : "liveshop";
}

function sanctionSummary(who, sanction) {
  const until = sanction.expires_at ? ` until ${new Date(sanction.expires_at).toLocaleTimeString()}` : "";
  const what = { timeout: "is timed out", ban: "is banned from the channel", shadow: "is shadow-hidden" }[sanction.kind];
  return `${who} ${what}${until}.`;
}

function sanctionControls(message) {
  const who = authorName(message);
  const length = node(
    "select",
    { "aria-label": `Time-out length for ${who}` },
    ...TIMEOUTS_SECONDS.map((seconds) => node("option", { value: seconds, text: durationLabel(seconds) })),
  );
  length.value = "600";
  const sanction = (kind, label, body) => button(label, who, (click) =>
    act(click.currentTarget, () => post("sanctions", { user_id: message.author.id, kind, ...body() }),
      (sanctioned) => {
        notice(sanctionSummary(who, sanctioned));
        sanctionsLoad().catch(failure);
      }));
  return [
    length,
    sanction("timeout", "Time out", () => ({ duration_seconds: Number(length.value) })),
    sanction("ban", "Ban", () => ({})),
    sanction("shadow", "Shadow-hide", () => ({})),
  ];
}

// Hide, delete, deny: the message leaves the console and the notice confirms it.
function messageModerate(click, message, action, done) {
  return act(click.currentTarget, () => post(`messages/${message.id}/${action}`, {}), () => {
    messageRemove(message.id);
    notice(`Message from ${authorName(message)} ${done}.`);
  });
}

function messageActions(message) {
  if (!state.me.can_moderate || !message.author) return null;
  const who = authorName(message);
  const context = `message from ${who}`;
  const controls = [
    button("Hide", context, (click) => messageModerate(click, message, "hide", "hidden")),
    button("Delete", context, (click) => messageModerate(click, message, "delete", "deleted")),
  ];
  if (message.visibility === "public") {
    controls.push(button("Pin message", `from ${who}`, (click) =>
      act(click.currentTarget, () => post(`messages/${message.id}/pin`), (pinned) => {
        pinnedMessageShow(pinned);
        notice(`Message from ${who} pinned.`);
      })));
  }
  if (message.author.role === "viewer") controls.push(...sanctionControls(message));
  return node(
    "details",
    { class: "message-actions" },
    node("summary", {}, "Actions", node("span", { class: "visually-hidden", text: ` for ${context}` })),
    node("div", { class: "action-row" }, ...controls),
  );
}

function messageElement(message) {
  const line = node("div", { class: "message-line" });
  if (message.author) {
    line.append(node("span", { class: `author role-${message.author.role}`, text: message.author.name }), " ");
  }
  if (message.visibility !== "public") line.append(node("span", { class: `tag tag-${message.visibility}`, text: message.visibility }), " ");
  if (message.kind === "answer") line.append(node("span", { class: "tag", text: "answer" }), " ");
  else if (message.is_question) line.append(node("span", { class: "tag", text: "question" }), " ");
  line.append(messageText(message));
  return node(
    "li",
    { class: `message message-${message.kind}`, dataset: { id: message.id, seq: message.seq } },
    line,
    messageActions(message),
  );
}

function messageShow(message) {
  if (message.removed) return;
  const list = $("studio-messages");
  // Follow the newest message only when already at the bottom: a moderator
  // reading back is not pulled away by new arrivals.
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const element = messageElement(message);
  const existing = state.messages.get(message.id);
  if (existing) existing.replaceWith(element);
  else list.append(element);
  state.messages.set(message.id, element);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function messageRemove(id) {
  const element = state.messages.get(id);
  if (element) element.remove();
  state.messages.delete(id);
  heldRemove(id);
  questionRemove(id);
}

function pinnedMessageShow(message) {
  $("pinned-message").hidden = !message;
  $("pinned-text").textContent = message ? `${authorName(message)}: ${message.text}` : "";
}

// --- Hold-for-review queue ------------------------------------------------------------------

function heldRender() {
  $("held-count").textContent = state.held.size ? `(${state.held.size})` : "";
}

function heldAdd(message) {
  const who = authorName(message);
  const context = `message from ${who}`;
  const item = node(
    "li",
    { class: "queue-item", dataset: { id: message.id } },
    node("span", { class: "text", text: message.text }),
    node("span", { class: "meta", text: `from ${who}` }),
    node(
      "div",
      { class: "buttons" },
      button("Approve", context, (click) =>
        act(click.currentTarget, () => post(`messages/${message.id}/approve`), () => {
          heldRemove(message.id);
          notice(`Message from ${who} approved.`);
        }), "primary"),
      button("Deny", context, (click) => messageModerate(click, message, "deny", "denied")),
    ),
  );
  const existing = state.held.get(message.id);
  if (existing) existing.replaceWith(item);
  else $("held").append(item);
  state.held.set(message.id, item);
  heldRender();
}

function heldRemove(id) {
  const element = state.held.get(id);
  if (!element) return;
  element.remove();
  state.held.delete(id);
  heldRender();
}

async function heldLoad() {
  const messages = await apiList(`${base}/held`);
  $("held").replaceChildren();
  state.held.clear();
  for (const message of messages) heldAdd(message);
  heldRender();
}

// --- Sanctions in force ----------------------------------------------------------------------

const SANCTION_NAMES = { timeout: "timed out", ban: "banned", shadow: "shadow-hidden" };
const SANCTION_NOUNS = { timeout: "time-out", ban: "ban", shadow: "shadow-hide" };

function sanctionElement(sanction) {
  const who = sanction.user.name;
  const until = sanction.expires_at ? `until ${new Date(sanction.expires_at).toLocaleTimeString()}` : "until lifted";
  return node(
    "li",
    { class: "queue-item", dataset: { id: sanction.id, kind: sanction.kind } },
    node("span", { class: "text", text: `${who}: ${SANCTION_NAMES[sanction.kind]}` }),
    node("span", { class: "meta", text: [until, sanction.reason].filter(Boolean).join(" · ") }),
    node(
      "div",
      { class: "buttons" },
      button("Lift", `${who}'s ${SANCTION_NOUNS[sanction.kind]}`, (click) =>
        act(click.currentTarget, () => api(`${base}/sanctions/${sanction.id}`, { method: "DELETE" }), () => {
          notice(`${who} is no longer ${SANCTION_NAMES[sanction.kind]}.`);
          sanctionsLoad().catch(failure);
        })),
    ),
  );
}

let sanctionsTimer = null;

// user.sanctioned and user.unsanctioned carry no sanction id: the list has them.
function sanctionsReloadSoon() {
  clearTimeout(sanctionsTimer);
  sanctionsTimer = setTimeout(() => sanctionsLoad().catch(failure), 150);
}

async function sanctionsLoad() {
  const sanctions = await apiList(`${base}/sanctions`);
  $("sanctions").replaceChildren(...sanctions.map(sanctionElement));
  $("sanctions-count").textContent = sanctions.length ? `(${sanctions.length})` : "";
}

// --- Moderation log ------------------------------------------------------------------------------

const LOG_WORDS = {
  hide: "hid a message from",
  delete: "deleted a message from",
  approve: "approved a message from",
  deny: "denied a message from",
  pin: "pinned a message from",
  unpin: "unpinned a message from",
  timeout: "timed out",
  ban: "banned",
  shadow: "shadow-hid",
  revoke: "lifted a sanction of",
  slow_mode: "changed slow mode",
  hold_links: "changed holding links",
  term_add: "blocked a term",
  term_remove: "unblocked a term",
};

// The first page only: the newest actions, read when the log is opened.
async function logLoad() {
  const page = await api(`${base}/moderation-log?page_size=30`);
  $("moderation-log").replaceChildren(...page.results.map((entry) => node(
    "li",
    {},
    node("time", { datetime: entry.created_at, text: new Date(entry.created_at).toLocaleTimeString() }),
    node("span", {
      class: "what",
      text: [entry.actor ? entry.actor.name : "liveshop", LOG_WORDS[entry.action] || entry.action,
        entry.target_user ? entry.target_user.name : null].filter(Boolean).join(" "),
    }),
  )));
}

$("log-details").addEventListener("toggle", () => {
  if ($("log-details").open) logLoad().catch(failure);
});

// --- Question queue ---------------------------------------------------------------------------

// One row per question, built once: a refresh of the queue updates its status
// line and controls in place, so an answer being typed is never lost.
function questionElement(question) {
  const asker = question.author ? question.author.name : "a viewer whose account is gone";
  const item = node(
    "li",
    { class: "queue-item", dataset: { id: question.id } },
    node("span", { class: "text", text: question.text }),
    node("span", { class: "meta" }),
  );
  const claim = button("Claim", `question from ${asker}`, (click) =>
    act(click.currentTarget, () => post(`questions/${question.id}/claim`), questionPut), "primary");
  const resolve = button("Answered on air", `question from ${asker}`, (click) =>
    act(click.currentTarget, () => post(`questions/${question.id}/resolve`), () => questionRemove(question.id)));
  const fieldId = `answer-${question.id}`;
  const text = node("textarea", { id: fieldId, name: "text", maxlength: "500", required: true });
  const privately = node("input", { type: "checkbox", name: "private", id: `${fieldId}-private` });
  const form = node(
    "form",
    { class: "answer-form" },
    node("label", { for: fieldId, text: `Answer to ${asker}` }),
    text,
    node("label", { class: "checkbox", for: `${fieldId}-private` }, privately, `Private: only ${asker} and the team see it`),
    node("button", { type: "submit", class: "secondary", text: "Send answer" }),
  );
  form.addEventListener("submit", (submit) => {
    submit.preventDefault();
    act(form.querySelector("button"), () => post(`questions/${question.id}/answer`, {
      text: text.value, private: privately.checked,
    }), () => {
      notice(`Answered ${asker} ${privately.checked ? "privately" : "in the chat"}.`);
      questionRemove(question.id);
    });
  });
  item.append(node("div", { class: "buttons" }, claim, resolve), form);
  return { item, asker, claim, resolve, form };
}

function questionRefresh(row, question) {
  const claimer = question.claimed_by;
  const mine = Boolean(claimer) && claimer.id === state.me.user_id;
  const status = question.question_status === "claimed"
    ? `claimed by ${mine ? "you" : claimer ? claimer.name : "someone"}`
    : question.question_status;
  row.item.dataset.status = question.question_status;
  row.item.querySelector(".meta").textContent = `from ${row.asker} · ${status}`;
  // A question someone else claimed is theirs: the server refuses it (409 claimed).
  const theirs = Boolean(claimer) && !mine;
  row.claim.hidden = theirs || question.question_status !== "open";
  row.resolve.hidden = theirs;
  row.form.hidden = theirs;
}

function questionPut(question) {
  if (question.question_status === "answered") {
    questionRemove(question.id);
    return;
  }
  let row = state.questions.get(question.id);
  if (!row) {
    row = questionElement(question);
    $("questions").append(row.item);
    state.questions.set(question.id, row);
  }
  questionRefresh(row, question);
  $("questions-count").textContent = `(${state.questions.size})`;
}

function questionRemove(id) {
  const row = state.questions.get(id);
  if (!row) return;
  row.item.remove();
  state.questions.delete(id);
  $("questions-count").textContent = state.questions.size ? `(${state.questions.size})` : "";
}

let questionsTimer = null;

// question.updated carries only the status; the queue has who claimed it.
function questionsReloadSoon() {
  clearTimeout(questionsTimer);
  questionsTimer = setTimeout(() => questionsLoad().catch(failure), 150);
}

async function questionsLoad() {
  const [open, claimed] = await Promise.all([
    apiList(`${base}/questions?status=open`),
    apiList(`${base}/questions?status=claimed`),
  ]);
  const current = [...open, ...claimed].sort((a, b) => a.id - b.id);
  const ids = new Set(current.map((question) => question.id));
  for (const id of [...state.questions.keys()]) if (!ids.has(id)) questionRemove(id);
  for (const question of current) questionPut(question);
}

// --- Stream key and the end of the show -------------------------------------------------------

async function ingestLoad() {
  const ingest = await api(`${base}/video/ingest`);
  $("ingest-url").value = ingest.server_url;
  $("stream-key").value = ingest.stream_key;
}

$("stream-key-toggle").addEventListener("click", (click) => {
  const field = $("stream-key");
  const showing = field.type === "text";
  field.type = showing ? "password" : "text";
  click.currentTarget.textContent = showing ? "Show key" : "Hide key";
  click.currentTarget.setAttribute("aria-pressed", String(!showing));
});

$("end-show").addEventListener("click", () => {
  // Escape closes the dialog without a new returnValue: start from none.
  $("end-dialog").returnValue = "";
  $("end-dialog").showModal();
});
$("end-dialog").addEventListener("close", () => {
  if ($("end-dialog").returnValue !== "end") return;
  act($("end-show"), () => post("video/end"), (show) => statusShow(show.status));
});

$("unpin-message").addEventListener("click", (click) =>
  act(click.currentTarget, () => api(`${base}/pinned-message`, { method: "DELETE" }), () => {
    pinnedMessageShow(null);
    notice("Message unpinned.");
  }));

$("slow-mode-form").addEventListener("submit", (submit) => {
  submit.preventDefault();
  const seconds = Number($("slow-mode").value);
  act(submit.submitter, () => api(`${base}/chat-settings`, { method: "PUT", body: { slow_mode_seconds: seconds } }),
    (settings) => {
      slowModeShow(settings.slow_mode_seconds);
      notice(settings.slow_mode_seconds ? `Slow mode: one message every ${durationLabel(settings.slow_mode_seconds)}.` : "Slow mode is off.");
    });
});

function slowModeShow(seconds) {
  const select = $("slow-mode");
  if (![...select.options].some((option) => Number(option.value) === seconds)) {
    select.append(node("option", { value: seconds, text: `One message every ${durationLabel(seconds)}` }));
  }
  select.value = String(seconds);
}

$("team-send-form").addEventListener("submit", async (submit) => {
  submit.preventDefault();
  const input = $("team-message");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  try {
    const ack = await channel.send({ text });
    messageShow(ack.message);
  } catch (error) {
    input.value = text;
    failure(error);
  }
});

// --- The channel ---------------------------------------------------------------------------------

const channel = new ShowChannel(publicId);
window.liveshopChannel = channel;

channel.on("status", ({ state: connection, detail }) => {
  $("connection").dataset.state = connection;
  $("connection").textContent = {
    connecting: "Connecting…",
    open: "Connected",
    offline: "Offline: reconnecting…",
    refused: detail,
  }[connection];
});

channel.on("snapshot", (snapshot) => {
  state.me = snapshot.me;
  capabilitiesApply(snapshot.me);
  $("show-title").textContent = snapshot.show.title;
  document.title = `Studio: ${snapshot.show.title} · liveshop`;
  viewersShow(snapshot.viewers.count, snapshot.viewers.peak);
  statusShow(snapshot.show.status);
  root.setAttribute("aria-busy", "false");
  if (!snapshot.me.is_team) return;
  $("studio-messages").replaceChildren();
  state.messages.clear();
  for (const message of snapshot.messages) messageShow(message);
  pinnedMessageShow(snapshot.pinned_message);
  slowModeShow(snapshot.chat.slow_mode_seconds);
  const loads = [];
  if (snapshot.me.can_moderate) {
    pinsReplace(snapshot.pins);
    loads.push(lineupLoad(), heldLoad(), sanctionsLoad(), reportRefresh());
  }
  if (snapshot.me.can_answer) loads.push(questionsLoad());
  if (snapshot.me.role === "host") loads.push(ingestLoad());
  Promise.all(loads).then(() => {
    root.dataset.ready = "true";
  }, failure);
});

function eventApply({ type, data }) {
  switch (type) {
    case "message.created":
      messageShow(data);
      if (data.visibility === "held") heldAdd(data);
      else heldRemove(data.id);
      if (data.is_question && data.visibility !== "held" && state.me.can_answer) questionsReloadSoon();
      break;
    case "message.removed":
      messageRemove(data.id);
      break;
    case "question.updated":
      if (state.me.can_answer) questionsReloadSoon();
      break;
    case "message.pinned":
      pinnedMessageShow(data.message.removed ? null : data.message);
      break;
    case "message.unpinned":
      pinnedMessageShow(null);
      break;
    case "user.sanctioned":
    case "user.unsanctioned":
      if (state.me.can_moderate) sanctionsReloadSoon();
      break;
    case "chat.settings":
      slowModeShow(data.slow_mode_seconds);
      break;
    case "show.status":
      statusShow(data.status);
      break;
    case "product.pinned":
    case "product.updated":
      state.pins.set(data.product.id, data);
      // A product pinned from elsewhere (the API, a premiere's plan) joins the lineup.
      if (state.me.can_moderate && !state.lineup.some((item) => item.product_id === data.product.id)) {
        lineupLoad().catch(failure);
      }
      lineupRender();
      break;
    case "product.unpinned":
      state.pins.delete(data.product_id);
      lineupRender();
      break;
    default:
      break;
  }
}

channel.on("event", (event) => {
  if (state.me && state.me.is_team) eventApply(event);
  else if (event.type === "show.status") statusShow(event.data.status);
});

channel.on("presence", (frame) => viewersShow(frame.viewers, frame.peak));

setInterval(reportRefresh, REPORT_EVERY_MS);
channel.connect();
