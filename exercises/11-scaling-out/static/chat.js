// Chapter 11: chapter 10's page, with who is online (on every node) and private messages (/msg NAME TEXT).
// Open /?name=alice on one node and /?name=bob on another.
// Everything that comes from others is shown with textContent: text, never HTML.
const $ = (id) => document.getElementById(id);
const [messages, state, status, form, input, toggle, onlineList] =
  [$("messages"), $("state"), $("status"), $("form"), $("input"), $("toggle"), $("online")];

const name = new URLSearchParams(window.location.search).get("name") || "";
$("me").textContent = `You are ${name || "(no name)"}`;

// The highest offset this page has shown. The auth is a function, so that every (re)connection sends the
// offset as it is then, not as it was when the page loaded.
let serverOffset = 0;
// The client's side of delivery, as the Socket.IO tutorial's "client delivery" step does it: every emit
// waits at most `ackTimeout` for its acknowledgement and is then sent again, with no limit on the `retries`.
// With `retries` set, the client sends one message at a time, in order, and sends the first one not yet
// acknowledged again whenever it reconnects.
const socket = io({ auth: (send) => send({ name, serverOffset }), ackTimeout: 2000, retries: Infinity });

// This page's own name for each of its messages, the same in every copy of it: a random id for the page,
// and the message's number. The server stores a message once, however many copies reach it.
const pageId = Array.from(crypto.getRandomValues(new Uint8Array(8)), (byte) => byte.toString(16).padStart(2, "0")).join("");
let numbered = 0;

const showState = () => {
  state.textContent = `${socket.connected ? "connected" : "offline"}, seen up to offset ${serverOffset}`;
  toggle.textContent = socket.connected ? "Go offline" : "Go online";
};
const item = (text, className) => {
  const li = document.createElement("li");
  li.textContent = text;
  if (className) li.className = className;
  return li;
};

// The server sends the log in the order of its offsets, live or replayed: a message at or below the offset
// already shown has been shown, and is not shown twice.
socket.on("chat message", ({ offset, name, text }) => {
  if (offset <= serverOffset) return;
  serverOffset = offset;
  const li = item(`${name}: ${text}`);
  li.dataset.offset = offset;
  // Messages of ours still on their way stay last.
  messages.insertBefore(li, messages.querySelector("li.pending"));
  showState();
  window.scrollTo(0, document.body.scrollHeight);
});

// Who is online, on every node: the list a newcomer is sent, kept current by the notices.
const online = new Set();
const showOnline = () => {
  const byName = (a, b) => a.toLowerCase().localeCompare(b.toLowerCase());
  onlineList.replaceChildren(...[...online].sort(byName).map((person) => item(person)));
};
socket.on("online", ({ names }) => { online.clear(); names.forEach((person) => online.add(person)); showOnline(); });
socket.on("user joined", ({ name }) => { online.add(name); showOnline(); });
socket.on("user left", ({ name }) => { online.delete(name); showOnline(); });
// Private messages are not in the log: shown as they come, and not again after a reconnection.
socket.on("private message", ({ from, text }) => {
  messages.insertBefore(item(`(private) ${from}: ${text}`, "private"), messages.querySelector("li.pending"));
});

socket.on("connect", () => { status.textContent = ""; showState(); });
socket.on("disconnect", (reason) => {
  showState();
  // The server let go of this socket on purpose (it could not catch it up): come back, from our offset.
  if (reason === "io server disconnect") socket.connect();
});
socket.on("connect_error", (error) => {
  status.textContent = `not connected: ${error.message}`;
  // Our offset belongs to a log this server does not have (it started afresh): forget it and start over.
  if (error.message.includes("beyond the end of the log") && serverOffset > 0) {
    serverOffset = 0;
    messages.replaceChildren();
    socket.connect();
  }
});

toggle.addEventListener("click", () => {
  if (socket.connected) socket.disconnect(); else socket.connect();
  showState();
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value.trim();
  input.value = "";
  if (!text) return;
  const [command, to, ...words] = text.split(" ");
  if (command === "/msg" && to && words.length) {
    socket.emit("private message", { to, text: words.join(" ") }, (error, ack) => {
      status.textContent = !error && ack && ack.ok ? "" : `not sent: ${error ? error.message : ack.error}`;
      if (!error && ack && ack.ok) messages.appendChild(item(`(private to ${to}) me: ${words.join(" ")}`, "private"));
    });
    return;
  }
  // Shown greyed until the server has stored it; the message itself then comes back with its offset.
  const pending = item(`${name}: ${text}`, "pending");
  messages.appendChild(pending);
  numbered += 1;
  send({ text, clientOffset: `${pageId}:${numbered}` }, pending);
});

// The server refuses a message sent too fast (chapter 6's rate limit) and stores nothing: the same message
// again a little later. Any other answer is final.
const SLOW_DOWN = "too many messages: at most 5 a second";
const send = (message, pending) => {
  // With `retries`, the callback's first argument is an error (only when the retries run out: never here).
  socket.emit("chat message", message, (error, ack) => {
    if (!error && ack && !ack.ok && ack.error === SLOW_DOWN) {
      setTimeout(() => send(message, pending), 1000);
      return;
    }
    pending.remove();
    status.textContent = !error && ack && ack.ok ? "" : `not sent: ${error ? error.message : ack.error}`;
  });
};
showState();
