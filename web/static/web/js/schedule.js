// The channel's schedule: live now, coming up with countdowns and "remind me",
// cancelled shows with their reason, and replays, from GET /api/v1/channels/<slug>/schedule.
import { api, ApiError } from "./api.js";
import { countdownText, dateTimeText } from "./time.js";

const root = document.getElementById("schedule");
const slug = root.dataset.channelSlug;
const signedIn = root.dataset.signedIn === "true";
// Countdowns count from the server's answer, not the phone's clock.
const countdowns = [];

function remindButton(show) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "secondary remind";
  const status = document.createElement("span");
  status.className = "remind-status";
  status.setAttribute("role", "status");
  const paint = (isReminded) => {
    button.setAttribute("aria-pressed", String(isReminded));
    button.textContent = isReminded ? "Reminder set" : "Remind me";
    button.setAttribute("aria-label", `${isReminded ? "Reminder set for" : "Remind me of"} ${show.title}`);
  };
  paint(show.is_reminded);
  button.addEventListener("click", async () => {
    const wanted = button.getAttribute("aria-pressed") !== "true";
    button.disabled = true;
    try {
      await api(`shows/${encodeURIComponent(show.public_id)}/reminder`, { method: wanted ? "POST" : "DELETE" });
      paint(wanted);
      status.textContent = "";
    } catch (error) {
      status.textContent = error instanceof ApiError ? error.message : "That did not work.";
    } finally {
      button.disabled = false;
    }
  });
  return [button, status];
}

function showItem(show, part) {
  const item = document.createElement("li");
  item.className = "show-item";
  item.dataset.publicId = show.public_id;
  const link = document.createElement("a");
  link.href = `/shows/${encodeURIComponent(show.public_id)}/`;
  link.className = "show-link";
  link.textContent = show.title;
  const when = document.createElement("p");
  when.className = "muted";
  const time = document.createElement("time");
  time.dateTime = show.actual_start || show.scheduled_start;
  time.textContent = dateTimeText(time.dateTime);
  when.append(time);
  item.append(link, when);
  if (part === "upcoming") {
    const countdown = document.createElement("p");
    countdown.className = "countdown";
    item.append(countdown);
    countdowns.push({ element: countdown, at: performance.now() + show.starts_in_seconds * 1000 });
    if (signedIn) item.append(...remindButton(show));
  }
  if (part === "cancelled") {
    const badge = document.createElement("span");
    badge.className = "badge cancelled";
    badge.textContent = "cancelled";
    when.append(" ", badge);
    if (show.cancellation_reason) {
      const reason = document.createElement("p");
      reason.className = "cancellation-reason";
      reason.textContent = show.cancellation_reason;
      item.append(reason);
    }
  }
  if (part === "live") {
    const badge = document.createElement("span");
    badge.className = "badge live";
    badge.textContent = "live";
    when.append(" ", badge);
  }
  return item;
}

function countdownsTick() {
  for (const { element, at } of countdowns) {
    const seconds = Math.max(0, Math.round((at - performance.now()) / 1000));
    element.textContent = seconds > 0 ? `Starts in ${countdownText(seconds)}` : "Starting now";
  }
}

async function scheduleLoad() {
  let schedule;
  try {
    schedule = await api(`channels/${encodeURIComponent(slug)}/schedule`);
  } catch (error) {
    document.getElementById("schedule-error").textContent =
      error.status === 404 ? "This channel does not exist." : error.message;
    return;
  }
  document.getElementById("channel-title").textContent = schedule.channel.name;
  document.getElementById("channel-description").textContent = schedule.channel.description;
  document.title = `${schedule.channel.name} · liveshop`;
  // Cancelled shows get their part only when there are some.
  document.getElementById("cancelled-part").hidden = !schedule.cancelled.length;
  for (const part of ["live", "upcoming", "cancelled", "replays"]) {
    const target = document.getElementById(part);
    const shows = schedule[part];
    if (!shows.length) {
      const empty = document.createElement("li");
      empty.className = "muted";
      empty.textContent = { live: "Nothing live right now.", upcoming: "No shows planned.", replays: "No replays yet." }[part];
      target.append(empty);
    }
    for (const show of shows) target.append(showItem(show, part));
  }
  countdownsTick();
  setInterval(countdownsTick, 1000);
}

scheduleLoad();
