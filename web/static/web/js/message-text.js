// A chat message's text as DOM nodes, for both reference clients. It is always
// plain text (docs/protocol.md 3.1); URLs become links only in messages the server
// marks links_clickable (the show's team).

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"']+/g;

export function messageText(message) {
  const span = document.createElement("span");
  span.className = "text";
  if (!message.links_clickable) {
    span.textContent = message.text;
    return span;
  }
  let last = 0;
  for (const match of message.text.matchAll(URL_PATTERN)) {
    span.append(message.text.slice(last, match.index));
    const link = document.createElement("a");
    link.href = match[0];
    link.rel = "noopener noreferrer nofollow ugc";
    link.target = "_blank";
    link.textContent = match[0];
    span.append(link);
    last = match.index + match[0].length;
  }
  span.append(message.text.slice(last));
  return span;
}
