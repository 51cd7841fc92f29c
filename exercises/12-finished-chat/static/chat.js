// Chapter 12: the finished chat. Open /?name=alice and /?name=bob; /join rust, /msg bob hi, Go offline...
// Everything that comes from others is shown with textContent: text, never HTML.
const $ = (id) => document.getElementById(id);
const [messagesList, roomsList, onlineList, state, toggle] = [$("messages"), $("rooms"), $("online"), $("state"), $("toggle")];
const [typingLine, status, form, input] = [$("typing"), $("status"), $("form"), $("input")];

const name = new URLSearchParams(window.location.search).get("name") || "";
$("me").textContent = `You are ${name || "(no name)"}`;
const randomId = () => Array.from(crypto.getRandomValues(new Uint8Array(8)), (byte) => byte.toString(16).padStart(2, "0")).join("");

// This tab's session (chapter 12): kept across reloads of the tab, so that a reloaded or reconnected page takes
// its name back from its own old connection. Another tab has another session.
const session = sessionStorage.getItem("chat-session") || randomId();
sessionStorage.setItem("chat-session", session);

// What the page knows: the lines of each room it is in, the highest offset shown (chapter 9), who is online,
// who is typing where.
const rooms = new Map([["lobby", []]]);
let current = "lobby";
let serverOffset = 0;
// Who is online, as a count of connections per name: a page that takes its name back is announced joining
// before or after its old connection is announced leaving, and the name must stay listed either way.
const online = new Map(); // name -> connections
const typists = new Map(); // room -> Set of names
const unread = new Set(); // rooms with messages not yet looked at
let takenOver = false;

// Every (re)connection says what the page has seen and which rooms it is in, so that the server replays
// exactly what it missed there (chapters 9 and 12). Messages are retried until acknowledged (chapter 10).
const auth = (send) => send({ name, serverOffset, rooms: [...rooms.keys()].filter((room) => room !== "lobby"), session });
const socket = io({ auth, ackTimeout: 2000, retries: Infinity });

const item = (text, className) => {
  const li = document.createElement("li");
  li.textContent = text;
  if (className) li.className = className;
  return li;
};
const render = () => {
  state.textContent = `${socket.connected ? "connected" : "offline"}, seen up to offset ${serverOffset}`;
  toggle.textContent = socket.connected ? "Go offline" : "Go online";
  unread.delete(current);
  roomsList.replaceChildren(...[...rooms.keys()].map((room) => {
    const li = item(room, [room === current ? "current" : "", unread.has(room) ? "unread" : ""].join(" ").trim());
    li.addEventListener("click", () => { current = room; render(); });
    return li;
  }));
  const byName = (a, b) => a.toLowerCase().localeCompare(b.toLowerCase());
  const names = [...online].filter(([, connections]) => connections > 0).map(([person]) => person);
  onlineList.replaceChildren(...names.sort(byName).map((person) => item(person)));
  messagesList.replaceChildren(...rooms.get(current).map((line) => line.element));
  const typing = [...(typists.get(current) || [])];
  typingLine.textContent = typing.length ? `${typing.join(", ")} ${typing.length === 1 ? "is" : "are"} typing…` : "";
  window.scrollTo(0, document.body.scrollHeight);
};
// A line of a room; a line still being sent stays last until it is acknowledged.
const add = (room, text, className) => {
  if (!rooms.has(room)) return null;
  const line = { element: item(text, className) };
  const lines = rooms.get(room);
  const firstPending = lines.findIndex((other) => other.element.classList.contains("pending"));
  if (className === "pending" || firstPending < 0) lines.push(line); else lines.splice(firstPending, 0, line);
  if (room !== current) unread.add(room);
  render();
  return line;
};
const drop = (room, line) => {
  const lines = rooms.get(room);
  if (lines && lines.includes(line)) lines.splice(lines.indexOf(line), 1);
  render();
};

// The log, live or replayed, in the order of its offsets: a message at or below the offset shown is not shown
// twice.
socket.on("chat message", ({ offset, room, name, text }) => {
  if (offset <= serverOffset) return;
  serverOffset = offset;
  add(room, `${name}: ${text}`);
});
socket.on("online", ({ names }) => { online.clear(); names.forEach((person) => online.set(person, 1)); render(); });
// Our own comings and goings (our old connection's, after a takeover) are not news to us.
socket.on("user joined", ({ name: who }) => {
  if (who === name) return;
  online.set(who, (online.get(who) || 0) + 1);
  add(current, `* ${who} joined`);
});
socket.on("user left", ({ name: who }) => {
  if (who === name) return;
  online.set(who, Math.max(0, (online.get(who) || 0) - 1));
  add(current, `* ${who} left`);
});
// Another page took this name back with this tab's session (a copy of the tab, say): it is that page's now.
socket.on("taken over", () => { takenOver = true; });
socket.on("private message", ({ from, text }) => add(current, `(private) ${from}: ${text}`, "private"));
socket.on("typing", ({ room, name }) => {
  if (!typists.has(room)) typists.set(room, new Set());
  typists.get(room).add(name);
  render();
});
socket.on("stopped typing", ({ room, name }) => { typists.get(room)?.delete(name); render(); });

socket.on("connect", () => { status.textContent = ""; render(); });
socket.on("disconnect", (reason) => {
  render();
  if (reason !== "io server disconnect") return;
  // The server let go of this connection on purpose. If another page took this name back, coming back at
  // once would take it back from that one, and so on: stay away. Otherwise (the server could not catch this
  // page up), come back.
  if (takenOver) status.textContent = "another page (a copy of this tab?) now has your name: reload to take it back";
  else socket.connect();
});
socket.on("connect_error", (error) => {
  status.textContent = `not connected: ${error.message}`;
  // Our offset belongs to a log this server does not have: forget it, and what it showed, and start over.
  if (error.message.includes("beyond the end of the log") && serverOffset > 0) {
    serverOffset = 0;
    rooms.forEach((lines, room) => rooms.set(room, []));
    socket.connect();
  }
});
toggle.addEventListener("click", () => {
  if (socket.connected) socket.disconnect(); else socket.connect();
  render();
});

// Typing (chapter 8): at most once a second while keys are pressed, and a stop after 2 s without one.
let typingSince = 0;
let typingRoom = null;
let stopTimer = null;
const stopTyping = () => {
  if (typingSince) socket.volatile.emit("stop typing", { room: typingRoom });
  typingSince = 0;
  clearTimeout(stopTimer);
};
input.addEventListener("input", () => {
  if (input.value.startsWith("/")) return;
  if (typingSince && typingRoom !== current) stopTyping();
  if (Date.now() - typingSince > 1000) {
    typingRoom = current;
    socket.volatile.emit("typing", { room: current });
    typingSince = Date.now();
  }
  clearTimeout(stopTimer);
  stopTimer = setTimeout(stopTyping, 2000);
});

// Every message has this page's own name for it, the same in every copy (chapter 10).
const pageId = randomId();
let numbered = 0;
const SLOW_DOWN = "too many messages: at most 5 a second";
// With `retries`, a callback's first argument is an error (only when the retries run out: never here). A
// refusal for sending too fast is tried again a little later; any other answer is final.
const request = (event, data, answered) => {
  socket.emit(event, data, (error, ack) => {
    if (!error && ack && !ack.ok && ack.error === SLOW_DOWN) {
      setTimeout(() => request(event, data, answered), 1000);
      return;
    }
    answered(error ? { ok: false, error: error.message } : ack);
  });
};
const refused = (what, ack) => { status.textContent = ack && ack.ok ? "" : `${what}: ${ack ? ack.error : "no answer"}`; };

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const line = input.value.trim();
  input.value = "";
  stopTyping();
  if (!line) return;
  const [command, argument, ...rest] = line.split(" ");
  if (command === "/join" && argument) {
    request("join", { room: argument }, (ack) => {
      refused("not joined", ack);
      if (ack.ok && !rooms.has(argument)) rooms.set(argument, []);
      if (ack.ok) { current = argument; render(); }
    });
  } else if (command === "/leave" && argument && rooms.size === 1 && rooms.has(argument)) {
    status.textContent = "not left: this is the only room you are in";
  } else if (command === "/leave" && argument) {
    request("leave", { room: argument }, (ack) => {
      refused("not left", ack);
      if (ack.ok) { rooms.delete(argument); if (current === argument) current = rooms.keys().next().value; render(); }
    });
  } else if (command === "/msg" && argument && rest.length) {
    const text = rest.join(" ");
    const room = current;
    request("private message", { to: argument, text }, (ack) => {
      refused("not sent", ack);
      // Private messages are not in the log: shown once the server has passed it on.
      if (ack.ok) add(room, `(private to ${argument}) me: ${text}`, "private");
    });
  } else {
    const room = current;
    // Shown greyed until the server has stored it; the message itself then comes back with its offset.
    const pending = add(room, `${name}: ${line}`, "pending");
    numbered += 1;
    request("chat message", { room, text: line, clientOffset: `${pageId}:${numbered}` }, (ack) => {
      drop(room, pending);
      refused("not sent", ack);
    });
  }
});
render();
