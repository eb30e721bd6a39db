// The viewer page: one show, its chat, over the public API and the show channel.
import { ShowChannel } from "./channel.js";

const root = document.getElementById("show");
const publicId = root.dataset.publicId;
const list = document.getElementById("messages");
const sendForm = document.getElementById("send-form");
const sendInput = document.getElementById("message-text");
const sendError = document.getElementById("send-error");
const connection = document.getElementById("connection");

// Messages by id: an event for a known id replaces it, in place.
const rendered = new Map();

function messageElement(message) {
  const item = document.createElement("li");
  item.className = `message message-${message.kind}`;
  item.dataset.id = message.id;
  item.dataset.seq = message.seq;
  if (message.author) {
    const author = document.createElement("span");
    author.className = `author role-${message.author.role}`;
    author.textContent = message.author.name;
    item.append(author, " ");
  }
  const text = document.createElement("span");
  text.className = "text";
  // Plain text, never HTML (docs/protocol.md 3.1).
  text.textContent = message.text;
  item.append(text);
  return item;
}

function messageShow(message) {
  if (message.removed) return;
  const element = messageElement(message);
  const existing = rendered.get(message.id);
  if (existing) {
    existing.replaceWith(element);
  } else {
    list.append(element);
  }
  rendered.set(message.id, element);
  list.scrollTop = list.scrollHeight;
}

function messageRemove(id) {
  const element = rendered.get(id);
  if (element) element.remove();
  rendered.delete(id);
}

const channel = new ShowChannel(publicId);
window.liveshopChannel = channel;

channel.on("status", ({ state, detail }) => {
  connection.dataset.state = state;
  connection.textContent = {
    connecting: "Connecting…",
    open: "Live",
    offline: "Offline: reconnecting…",
    refused: detail,
  }[state];
});

channel.on("snapshot", (snapshot) => {
  document.getElementById("show-title").textContent = snapshot.show.title;
  document.title = `${snapshot.show.title} · liveshop`;
  document.getElementById("show-status").textContent = snapshot.show.status;
  list.replaceChildren();
  rendered.clear();
  for (const message of snapshot.messages) messageShow(message);
  sendForm.hidden = !snapshot.me.can_post;
  document.getElementById("sign-in-to-chat").hidden = snapshot.me.user_id !== null;
});

channel.on("event", (event) => {
  if (event.type === "message.created") messageShow(event.data);
  else if (event.type === "message.removed") messageRemove(event.data.id);
  else if (event.type === "show.status") document.getElementById("show-status").textContent = event.data.status;
});

channel.on("presence", (frame) => {
  document.getElementById("viewer-count").textContent = `${frame.viewers} watching`;
});

sendForm.addEventListener("submit", async (submit) => {
  submit.preventDefault();
  const text = sendInput.value.trim();
  if (!text) return;
  sendInput.value = "";
  sendError.textContent = "";
  try {
    const ack = await channel.send({ text });
    messageShow(ack.message);
  } catch (error) {
    sendInput.value = text;
    sendError.textContent = error.detail || "The message was not sent.";
  }
});

channel.connect();
