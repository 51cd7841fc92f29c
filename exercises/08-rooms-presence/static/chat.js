// Chapter 8: rooms, who is online, who is typing, private messages. Open /?name=alice and /?name=bob.
// Everything that comes from others is shown with textContent: text, never HTML.
const $ = (id) => document.getElementById(id);
const [messagesList, roomsList, onlineList] = [$("messages"), $("rooms"), $("online")];
const [typingLine, status, form, input] = [$("typing"), $("status"), $("form"), $("input")];

const name = new URLSearchParams(window.location.search).get("name") || "";
const socket = io({ auth: { name } });
$("me").textContent = `You are ${name || "(no name)"}`;

// What the page knows: the lines of each room it is in, who is online, who is typing where.
const rooms = new Map([["lobby", []]]);
let current = "lobby";
const online = new Set();
const typists = new Map(); // room -> Set of names

const item = (text, className) => {
  const li = document.createElement("li");
  li.textContent = text;
  if (className) li.className = className;
  return li;
};
const render = () => {
  roomsList.replaceChildren(...[...rooms.keys()].map((room) => {
    const li = item(room, room === current ? "current" : "");
    li.addEventListener("click", () => { current = room; li.classList.remove("unread"); render(); });
    return li;
  }));
  const byName = (a, b) => a.toLowerCase().localeCompare(b.toLowerCase());
  onlineList.replaceChildren(...[...online].sort(byName).map((person) => item(person)));
  messagesList.replaceChildren(...rooms.get(current).map(([text, className]) => item(text, className)));
  const typing = [...(typists.get(current) || [])];
  typingLine.textContent = typing.length ? `${typing.join(", ")} ${typing.length === 1 ? "is" : "are"} typing…` : "";
  window.scrollTo(0, document.body.scrollHeight);
};
const add = (room, text, className) => {
  if (!rooms.has(room)) return;
  rooms.get(room).push([text, className]);
  render();
  if (room !== current) {
    [...roomsList.children].find((li) => li.textContent === room)?.classList.add("unread");
  }
};

socket.on("connect_error", (error) => { status.textContent = `not connected: ${error.message}`; });
socket.on("connect", () => { status.textContent = ""; });
socket.on("online", ({ names }) => { online.clear(); names.forEach((person) => online.add(person)); render(); });
// Arrivals and departures concern everyone: they are shown in whichever room is open.
socket.on("user joined", ({ name }) => { online.add(name); add(current, `* ${name} joined`); });
socket.on("user left", ({ name }) => { online.delete(name); add(current, `* ${name} left`); });
socket.on("chat message", ({ room, name, text }) => add(room, `${name}: ${text}`));
// Private messages are shown in whichever room is open, marked as private.
socket.on("private message", ({ from, text }) => add(current, `(private) ${from}: ${text}`, "private"));
socket.on("typing", ({ room, name }) => {
  if (!typists.has(room)) typists.set(room, new Set());
  typists.get(room).add(name);
  render();
});
socket.on("stopped typing", ({ room, name }) => { typists.get(room)?.delete(name); render(); });

// Typing: say so at most once a second while keys are pressed, and say when it stopped (2 s without a key),
// naming the room where the typing happened even if another room is open by then.
let typingSince = 0;
let typingRoom = null;
let stopTimer = null;
const stopTyping = () => {
  if (typingSince) socket.emit("stop typing", { room: typingRoom });
  typingSince = 0;
  clearTimeout(stopTimer);
};
input.addEventListener("input", () => {
  if (input.value.startsWith("/")) return;
  if (typingSince && typingRoom !== current) stopTyping();
  if (Date.now() - typingSince > 1000) {
    typingRoom = current;
    socket.emit("typing", { room: current });
    typingSince = Date.now();
  }
  clearTimeout(stopTimer);
  stopTimer = setTimeout(stopTyping, 2000);
});

const refused = (what) => (ack) => { status.textContent = ack && ack.ok ? "" : `${what}: ${ack ? ack.error : "no answer"}`; };
form.addEventListener("submit", (event) => {
  event.preventDefault();
  const line = input.value.trim();
  input.value = "";
  stopTyping();
  if (!line) return;
  const [command, argument, ...rest] = line.split(" ");
  if (command === "/join" && argument) {
    socket.emit("join", { room: argument }, (ack) => {
      refused("not joined")(ack);
      if (ack && ack.ok && !rooms.has(argument)) rooms.set(argument, []);
      if (ack && ack.ok) { current = argument; render(); }
    });
  } else if (command === "/leave" && argument && rooms.size === 1 && rooms.has(argument)) {
    status.textContent = "not left: this is the only room you are in";
  } else if (command === "/leave" && argument) {
    socket.emit("leave", { room: argument }, (ack) => {
      refused("not left")(ack);
      if (ack && ack.ok) { rooms.delete(argument); if (current === argument) current = rooms.keys().next().value; render(); }
    });
  } else if (command === "/msg" && argument && rest.length) {
    const text = rest.join(" ");
    // Our own message is shown at once: the server sends it to its addressee only.
    add(current, `(private to ${argument}) me: ${text}`, "private");
    socket.emit("private message", { to: argument, text }, refused("not sent"));
  } else {
    add(current, `me: ${line}`);
    socket.emit("chat message", { room: current, text: line }, refused("not sent"));
  }
});
render();
