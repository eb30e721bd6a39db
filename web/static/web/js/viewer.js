// The viewer page: one show over the public API and the show channel
// (docs/protocol.md). Before the start a countdown and "remind me"; while live the
// stream, the chat and the pinned products; after the end the replay with its
// product timeline.
import { api, ApiError } from "./api.js";
import { ShowChannel } from "./channel.js";
import { messageText } from "./message-text.js";
import { Player } from "./player.js";
import { countdownText, dateTimeText, offsetText } from "./time.js";

const root = document.getElementById("show");
const publicId = root.dataset.publicId;
const signedIn = root.dataset.signedIn === "true";
const $ = (id) => document.getElementById(id);

const list = $("messages");
const sendForm = $("send-form");
const sendInput = $("message-text");
const sendError = $("send-error");
const questionBox = $("ask-question");
const cards = $("products");
const markers = $("markers");
const player = new Player($("video"), $("player-status"));

const state = {
  me: { user_id: null, can_post: false },
  show: null,
  replyTo: null,
  // Messages by id: an event for a known id replaces it in place.
  messages: new Map(),
  // Pin objects by pin id, and the element drawn for each.
  pins: new Map(),
  // The replay's timeline: pins on the replay clock, cards from pins_url.
  replay: null,
  startsAt: null,
};

// ---------------------------------------------------------------- chat

// A new element; ``text`` goes in as text, never as HTML.
function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function messageElement(message) {
  const item = element("li", `message message-${message.kind}`);
  item.dataset.id = message.id;
  item.dataset.seq = message.seq;
  if (message.reply_to != null) {
    const quoted = state.messages.get(message.reply_to);
    const quote = element(
      "span",
      "quote",
      quoted
        ? `↪ ${quoted.message.author ? quoted.message.author.name : "liveshop"}: ${quoted.message.text}`
        : "↪ a message no longer shown",
    );
    item.append(quote);
  }
  if (message.author) {
    const author = element("span", `author role-${message.author.role}`, message.author.name);
    item.append(author);
    if (message.author.role !== "viewer") {
      const role = element("span", "role-tag", message.author.role.replace("_", " "));
      item.append(" ", role);
    }
    item.append(" ");
  }
  item.append(messageText(message));
  const notes = [];
  if (message.is_question) notes.push(message.question_status === "answered" ? "Question · answered" : "Question");
  if (message.visibility === "held") notes.push("Waiting for review");
  if (message.visibility === "private") notes.push("Only you and the team see this");
  if (message.kind === "answer") notes.push("Answer");
  if (notes.length) {
    const note = element("span", "message-note", notes.join(" · "));
    item.append(" ", note);
  }
  if (state.me.can_post && message.kind !== "system" && message.visibility === "public") {
    const reply = element("button", "link-button reply", "Reply");
    reply.type = "button";
    reply.setAttribute("aria-label", `Reply to ${message.author ? message.author.name : "this message"}`);
    reply.addEventListener("click", () => replyStart(message));
    item.append(" ", reply);
  }
  return item;
}

function nearBottom() {
  return list.scrollHeight - list.scrollTop - list.clientHeight < 48;
}

function messageShow(message) {
  if (message.removed) return;
  const follow = nearBottom();
  const item = messageElement(message);
  const existing = state.messages.get(message.id);
  if (existing) {
    existing.element.replaceWith(item);
  } else {
    // An ack can overtake the batch that carries earlier messages: keep seq order.
    let before = null;
    for (let node = list.lastElementChild; node; node = node.previousElementSibling) {
      if (Number(node.dataset.seq) > message.seq) before = node;
      else break;
    }
    list.insertBefore(item, before);
  }
  state.messages.set(message.id, { message, element: item });
  if (follow) list.scrollTop = list.scrollHeight;
}

function messageRemove(id) {
  const entry = state.messages.get(id);
  if (entry) entry.element.remove();
  state.messages.delete(id);
  if (state.replyTo && state.replyTo.id === id) replyCancel();
}

function questionUpdate({ id, question_status }) {
  const entry = state.messages.get(id);
  if (entry) messageShow({ ...entry.message, question_status });
}

function pinnedMessageShow(message) {
  const box = $("pinned-message");
  if (!message || message.removed) {
    box.hidden = true;
    delete box.dataset.id;
    return;
  }
  box.dataset.id = message.id;
  $("pinned-author").textContent = message.author ? `${message.author.name}:` : "";
  $("pinned-text").textContent = message.text;
  box.hidden = false;
}

function replyStart(message) {
  state.replyTo = message;
  $("replying-text").textContent = `Replying to ${message.author ? message.author.name : "a message"}`;
  $("replying").hidden = false;
  sendInput.focus();
}

function replyCancel() {
  state.replyTo = null;
  $("replying").hidden = true;
}

function chatNote(text) {
  $("chat-note").textContent = text;
}

// The server refuses messages once a show has ended or was cancelled
// (chat_closed): the page says so instead of offering a form that can only fail.
const CHAT_OPEN_STATUSES = ["draft", "scheduled", "live"];

function chatAllow() {
  const open = CHAT_OPEN_STATUSES.includes(state.show.status);
  const canPost = state.me.can_post && state.me.user_id !== null;
  sendForm.hidden = !canPost || !open;
  $("sign-in-to-chat").hidden = state.me.user_id !== null || !open;
  $("chat-closed").hidden = open;
  // Slow mode and time-outs no longer matter.
  $("chat-note").hidden = !open;
  for (const button of document.querySelectorAll(".reaction")) {
    button.disabled = !canPost || !state.show || state.show.status !== "live";
  }
}

function sanctionShow(data) {
  if (data.user_id !== state.me.user_id) return;
  if (data.kind === "banned" || data.kind === "ban") chatNote("You are banned from this channel's chat.");
  else if (data.until) chatNote(`You are timed out until ${dateTimeText(data.until)}.`);
}

// ---------------------------------------------------------------- products

function priceElement(variant) {
  const price = element("span", "price");
  if (variant.show_price) {
    const was = element("del", "", `${variant.price} ${variant.currency}`);
    const now = element("strong", "show-price", `${variant.show_price} ${variant.currency}`);
    const label = element("span", "show-price-label", "Show price");
    price.append(label, " ", now, " ", was);
  } else {
    price.textContent = `${variant.price} ${variant.currency}`;
  }
  return price;
}

function stockText(variant) {
  if (variant.stock_state === "sold_out") return "Sold out";
  if (variant.stock_state === "low") return `Only ${variant.left} left`;
  return "In stock";
}

function variantElement(product, variant) {
  const row = element("li", "variant");
  row.dataset.variantId = variant.id;
  row.dataset.stock = variant.stock_state;
  const name = element("span", "variant-title", variant.title);
  const stock = element("span", "stock", stockText(variant));
  let action;
  const label = `Add ${product.title}${product.variants.length > 1 ? ` (${variant.title})` : ""} to cart`;
  if (variant.stock_state === "sold_out") {
    action = element("button", "primary add-to-cart", "Sold out");
    action.type = "button";
    action.disabled = true;
  } else {
    // The signed link records the click and redirects into the shop's cart.
    action = element("a", "button primary add-to-cart", "Add to cart");
    action.href = variant.add_to_cart_url;
  }
  action.setAttribute("aria-label", variant.stock_state === "sold_out" ? `${label}: sold out` : label);
  row.append(name, priceElement(variant), stock, action);
  return row;
}

function cardElement(pin) {
  const product = pin.product;
  const card = element("li", "product-card");
  card.dataset.pinId = pin.id;
  card.dataset.productId = product.id;
  if (product.image) {
    const figure = element("div", "product-image");
    const image = document.createElement("img");
    image.src = product.image.url;
    image.alt = product.image.alt_text || product.title;
    // Fixed size: the card has its height before the image arrives.
    image.width = 96;
    image.height = 96;
    image.loading = "lazy";
    figure.append(image);
    card.append(figure);
  }
  const variants = element("ul", "variants");
  for (const variant of product.variants) variants.append(variantElement(product, variant));
  card.append(element("h3", "product-title", product.title), variants);
  return card;
}

function cardShow(pin) {
  const card = cardElement(pin);
  const existing = state.pins.get(pin.id);
  if (existing) existing.element.replaceWith(card);
  else cards.append(card);
  state.pins.set(pin.id, { pin, element: card });
  $("products-empty").hidden = state.pins.size > 0;
}

function cardRemove(pinId) {
  const entry = state.pins.get(pinId);
  if (entry) entry.element.remove();
  state.pins.delete(pinId);
  $("products-empty").hidden = state.pins.size > 0;
}

function cardsClear() {
  cards.replaceChildren();
  state.pins.clear();
  $("products-empty").hidden = false;
}

function stockChange(change) {
  for (const entry of state.pins.values()) {
    if (entry.pin.product.id !== change.product_id) continue;
    const variant = entry.pin.product.variants.find((item) => item.id === change.variant_id);
    if (!variant) continue;
    variant.stock_state = change.stock_state;
    variant.left = change.left;
    cardShow(entry.pin);
  }
}

// ---------------------------------------------------------------- phases

let countdownTimer = null;

function countdownRun() {
  clearInterval(countdownTimer);
  const tick = () => {
    const seconds = Math.max(0, Math.round((state.startsAt - performance.now()) / 1000));
    $("countdown").textContent = seconds > 0 ? countdownText(seconds) : "any moment now";
  };
  tick();
  countdownTimer = setInterval(tick, 1000);
}

async function beforeStartShow(show) {
  $("before-start").hidden = false;
  $("start-time").textContent = `Scheduled for ${dateTimeText(show.scheduled_start)}`;
  $("countdown").setAttribute("datetime", show.scheduled_start);
  $("remind").hidden = !signedIn;
  $("remind-sign-in").hidden = signedIn;
  // The server's countdown, so a phone with a wrong clock still counts right.
  try {
    const detail = await api(`shows/${encodeURIComponent(publicId)}`);
    state.startsAt = performance.now() + detail.starts_in_seconds * 1000;
    remindShow(detail.is_reminded);
  } catch (error) {
    state.startsAt = Date.parse(show.scheduled_start) - Date.now() + performance.now();
  }
  countdownRun();
}

function remindShow(isReminded) {
  const button = $("remind");
  button.setAttribute("aria-pressed", String(isReminded));
  button.textContent = isReminded ? "Reminder set" : "Remind me";
}

$("remind").addEventListener("click", async () => {
  const button = $("remind");
  const wanted = button.getAttribute("aria-pressed") !== "true";
  button.disabled = true;
  try {
    await api(`shows/${encodeURIComponent(publicId)}/reminder`, { method: wanted ? "POST" : "DELETE" });
    remindShow(wanted);
    $("remind-status").textContent = wanted
      ? "We will remind you shortly before the show starts."
      : "The reminder is off.";
  } catch (error) {
    $("remind-status").textContent = error instanceof ApiError ? error.message : "That did not work.";
  } finally {
    button.disabled = false;
  }
});

// A cancelled show says why: the reason is in the show's detail, not the snapshot.
async function cancelledShow() {
  $("cancelled-note").hidden = false;
  try {
    const detail = await api(`shows/${encodeURIComponent(publicId)}`);
    $("cancellation-reason").textContent = detail.cancellation_reason;
  } catch (error) {
    $("cancellation-reason").textContent = "";
  }
}

function modeSet(mode) {
  root.dataset.mode = mode;
  $("before-start").hidden = mode !== "scheduled";
  $("cancelled-note").hidden = mode !== "cancelled";
  $("replay-timeline").hidden = mode !== "replay";
  if (mode !== "scheduled") clearInterval(countdownTimer);
}

function livePlay(playback) {
  if (playback.hls_url && playback.playable && playback.state === "premiere") {
    // A premiere is a VOD that everyone watches at the same moment (docs/video.md).
    const startedAt = Date.parse(state.show.started_at);
    player.load(playback.hls_url, { live: true, startAt: () => Math.max(0, (Date.now() - startedAt) / 1000) });
  } else if (playback.hls_url && playback.playable) {
    player.load(playback.hls_url, { live: true });
  } else {
    player.waiting("The stream starts in a moment…");
  }
}

function playbackShow(show) {
  const playback = show.playback;
  if (show.status === "scheduled") {
    modeSet("scheduled");
    player.waiting("The show has not started yet.");
    beforeStartShow(show);
  } else if (show.status === "live") {
    modeSet("live");
    livePlay(playback);
  } else if (show.status === "ended" && playback.replay) {
    replayOpen(playback.replay);
  } else if (show.status === "ended") {
    modeSet("ended");
    player.waiting("This show has ended. The replay is not available yet.");
  } else if (show.status === "cancelled") {
    modeSet("cancelled");
    player.waiting("This show was cancelled.");
    cancelledShow();
  } else {
    modeSet(show.status);
    player.waiting("");
  }
}

// ---------------------------------------------------------------- replay

async function replayOpen(replay) {
  modeSet("replay");
  cardsClear();
  state.replay = { replay, cards: new Map() };
  player.load(replay.hls_url, { live: false });
  markers.replaceChildren();
  const bar = document.querySelector(".timeline-bar");
  for (const tick of bar.querySelectorAll(".timeline-tick")) tick.remove();
  const duration = replay.duration_seconds || 1;
  for (const pin of replay.pins) {
    const item = element("li", "marker");
    const tick = element("span", "timeline-tick");
    tick.style.setProperty("--at", `${Math.min(100, (pin.start_offset / duration) * 100)}%`);
    bar.append(tick);
    const button = element("button", "secondary", `${offsetText(pin.start_offset)} ${pin.title}`);
    button.type = "button";
    button.dataset.pinId = pin.pin_id;
    button.setAttribute("aria-label", `Jump to ${pin.title} at ${offsetText(pin.start_offset)}`);
    button.addEventListener("click", () => player.seek(pin.start_offset));
    item.append(button);
    markers.append(item);
  }
  // Fresh cards with links that have not expired (docs/protocol.md 3.4).
  try {
    const timeline = await api(replay.pins_url.replace(/^\/api\/v1\//, ""));
    for (const pin of timeline.results) state.replay.cards.set(pin.id, pin);
  } catch (error) {
    $("products-empty").textContent = "The products of this replay cannot be loaded.";
  }
  replayCardsSync();
}

// The cards whose pin covers the player's position, as they were during the show.
function replayCardsSync() {
  if (!state.replay) return;
  const now = player.video.currentTime;
  const duration = state.replay.replay.duration_seconds || player.video.duration || 1;
  $("timeline-progress").style.width = `${Math.min(100, (now / duration) * 100)}%`;
  const due = new Set();
  for (const pin of state.replay.replay.pins) {
    const ends = pin.end_offset === null ? Infinity : pin.end_offset;
    if (now >= pin.start_offset && now < ends && state.replay.cards.has(pin.pin_id)) due.add(pin.pin_id);
  }
  for (const pinId of [...state.pins.keys()]) if (!due.has(pinId)) cardRemove(pinId);
  for (const pinId of due) if (!state.pins.has(pinId)) cardShow(state.replay.cards.get(pinId));
  for (const button of markers.querySelectorAll("button")) {
    button.setAttribute("aria-current", String(due.has(Number(button.dataset.pinId))));
  }
}

player.video.addEventListener("timeupdate", replayCardsSync);
player.video.addEventListener("seeked", replayCardsSync);
player.video.addEventListener("seeking", replayCardsSync);

// ---------------------------------------------------------------- channel

const channel = new ShowChannel(publicId);

channel.on("status", ({ state: connectionState, detail, code }) => {
  const connection = $("connection");
  connection.dataset.state = connectionState;
  connection.textContent = {
    connecting: "Connecting…",
    open: "Connected",
    offline: "Offline: reconnecting…",
    refused: detail,
  }[connectionState];
  if (connectionState === "refused" && code === 4004) {
    $("show-title").textContent = "Show not found";
    document.title = "Show not found · liveshop";
    modeSet("missing");
    player.waiting("");
    $("not-found").hidden = false;
  }
});

channel.on("resumed", (frame) => {
  const key = frame.recovered ? "resumes" : "resyncs";
  root.dataset[key] = String(Number(root.dataset[key]) + 1);
});

channel.on("snapshot", (snapshot) => {
  state.show = snapshot.show;
  state.me = snapshot.me;
  $("show-title").textContent = snapshot.show.title;
  document.title = `${snapshot.show.title} · liveshop`;
  $("show-status").textContent = snapshot.show.status;
  list.replaceChildren();
  state.messages.clear();
  for (const message of snapshot.messages) messageShow(message);
  pinnedMessageShow(snapshot.pinned_message);
  cardsClear();
  for (const pin of snapshot.pins) cardShow(pin);
  chatNote(snapshot.chat.slow_mode_seconds ? `Slow mode: one message every ${snapshot.chat.slow_mode_seconds} s.` : "");
  if (snapshot.me.muted_until) sanctionShow({ user_id: snapshot.me.user_id, kind: snapshot.me.mute_reason, until: snapshot.me.muted_until });
  chatAllow();
  // Only now: the pinned message and the send form above shrink the list, and a
  // list left short of its bottom would not follow the messages that arrive.
  list.scrollTop = list.scrollHeight;
  viewersShow(snapshot.viewers.count);
  playbackShow(snapshot.show);
});

const EVENT_HANDLERS = {
  "message.created": (data) => messageShow(data),
  "message.removed": (data) => messageRemove(data.id),
  "question.updated": questionUpdate,
  "message.pinned": (data) => pinnedMessageShow(data.message),
  "message.unpinned": () => pinnedMessageShow(null),
  "chat.settings": (data) =>
    chatNote(data.slow_mode_seconds ? `Slow mode: one message every ${data.slow_mode_seconds} s.` : ""),
  "show.status": (data) => {
    const was = state.show.status;
    Object.assign(state.show, { status: data.status, started_at: data.started_at, ended_at: data.ended_at });
    $("show-status").textContent = data.status;
    chatAllow();
    if (was !== data.status && data.status === "live") {
      modeSet("live");
      livePlay(state.show.playback);
    } else if (was !== data.status && ["ended", "cancelled"].includes(data.status)) {
      player.stop();
      playbackShow(state.show);
    }
  },
  "product.pinned": (pin) => state.show.status === "live" && cardShow(pin),
  "product.updated": (pin) => state.pins.has(pin.id) && cardShow(pin),
  "product.unpinned": (data) => state.show.status === "live" && cardRemove(data.pin_id),
  "stock.changed": stockChange,
  "video.playable": (data) => {
    Object.assign(state.show.playback, data);
    if (state.show.status === "live") livePlay(state.show.playback);
  },
  "video.replay": (replay) => {
    state.show.playback.replay = replay;
    if (state.show.status === "ended") replayOpen(replay);
  },
  "user.sanctioned": sanctionShow,
  "user.unsanctioned": (data) => data.user_id === state.me.user_id && chatNote(""),
};

channel.on("event", (event) => {
  const handler = EVENT_HANDLERS[event.type];
  if (handler) handler(event.data);
});

function viewersShow(count) {
  $("viewer-count").textContent = `${count} watching`;
}

channel.on("presence", (frame) => viewersShow(frame.viewers));

let reactionsFade = null;
channel.on("reactions", (frame) => {
  for (const counter of document.querySelectorAll("[data-count-for]")) {
    const count = frame.counts[counter.dataset.countFor];
    counter.textContent = count ? String(count) : "";
  }
  clearTimeout(reactionsFade);
  reactionsFade = setTimeout(() => {
    for (const counter of document.querySelectorAll("[data-count-for]")) counter.textContent = "";
  }, 3000);
});

for (const button of document.querySelectorAll(".reaction")) {
  button.addEventListener("click", () => channel.react(button.dataset.kind));
}

$("reply-cancel").addEventListener("click", replyCancel);

sendForm.addEventListener("submit", async (submit) => {
  submit.preventDefault();
  const text = sendInput.value.trim();
  if (!text) return;
  const replyTo = state.replyTo ? state.replyTo.id : null;
  const question = questionBox.checked;
  sendInput.value = "";
  sendError.textContent = "";
  replyCancel();
  questionBox.checked = false;
  try {
    const ack = await channel.send({ text, replyTo, question });
    messageShow(ack.message);
  } catch (error) {
    sendInput.value = text;
    sendError.textContent = error.detail || "The message was not sent.";
  }
});

channel.connect();
