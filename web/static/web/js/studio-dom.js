// Small DOM helpers for the studio. User text only ever goes in as text nodes.

// node("li", {class: "x", dataset: {id: 1}}, "text", child) -> element
export function node(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name === "text") element.textContent = value;
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}

// A button whose accessible name adds context a sighted user gets from the row
// ("Pin" next to a product's title reads "Pin Winter boots").
export function button(label, context, onclick, className = "secondary") {
  const element = node("button", { type: "button", class: className, onclick }, label);
  if (context) element.append(node("span", { class: "visually-hidden", text: ` ${context}` }));
  return element;
}

export function durationLabel(seconds) {
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}
