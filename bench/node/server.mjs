// The benchmark's Node.js chat: chapter 12's protocol, as far as the benchmark uses it, on the official
// socket.io server. `cargo xtask bench chat` runs it beside the kit's own capstone (sol12-finished-chat) under
// the same load, and compares.
//
//     node bench/node/server.mjs --port 0 [--db PATH]
//
// What it does, as the Rust server does: a name from the handshake's auth, checked and unique; the `online`
// list to a newcomer and `user joined` / `user left` to the others; rooms, the lobby first; `chat message`
// {room, text, clientOffset} checked, rate-limited (a burst of 10, then 5 a second), stored once per sender
// and client offset, sent to the room with its offset, and acknowledged {ok, offset}; a newcomer replayed
// what it missed after `serverOffset`. With --db, every message is appended to a file and synced to disk
// before it is acknowledged (the Rust server's SQLite with synchronous=FULL does the same); without, the log
// is in memory.
//
// What it does not do, because the benchmark does not use it: typing, private messages, sessions, leaving
// and joining rooms after connecting, the limits on connections and headers of the kit's runner.
import { createServer } from "node:http";
import fs from "node:fs";
import { Server } from "socket.io";

const args = process.argv.slice(2);
const option = (name, otherwise) => {
  const at = args.indexOf(name);
  return at >= 0 && at + 1 < args.length ? args[at + 1] : otherwise;
};
const port = Number(option("--port", "3000"));
const database = option("--db", null);

// ---- The log ----------------------------------------------------------------------------------------------
const log = []; // {offset, room, name, text}, offset = index + 1
const byClientOffset = new Map(); // `${name}\u0000${clientOffset}` -> offset
let file = null;
if (database) {
  if (fs.existsSync(database)) {
    for (const line of fs.readFileSync(database, "utf8").split("\n")) {
      if (!line) continue;
      const entry = JSON.parse(line);
      log.push(entry);
      byClientOffset.set(`${entry.name}\u0000${entry.clientOffset}`, entry.offset);
    }
  }
  file = fs.openSync(database, "a");
}
const append = (room, name, text, clientOffset) => {
  const key = `${name}\u0000${clientOffset}`;
  const earlier = byClientOffset.get(key);
  if (earlier !== undefined) return { offset: earlier, duplicate: true };
  const entry = { offset: log.length + 1, room, name, text, clientOffset };
  if (file !== null) {
    fs.writeSync(file, `${JSON.stringify(entry)}\n`);
    fs.fsyncSync(file);
  }
  log.push(entry);
  byClientOffset.set(key, entry.offset);
  return { offset: entry.offset, duplicate: false };
};

// ---- Checks -----------------------------------------------------------------------------------------------
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const validRoom = (room) =>
  typeof room === "string" && room.trim().length >= 1 && [...room.trim()].length <= 32 && !CONTROL.test(room) &&
  !/^(user|name|session):/.test(room.trim());
const SLOW_DOWN = "too many messages: at most 5 a second";
class RateLimit {
  constructor() { this.tokens = 10; this.since = process.hrtime.bigint(); }
  allow() {
    const now = process.hrtime.bigint();
    this.tokens = Math.min(10, this.tokens + (Number(now - this.since) / 1e9) * 5);
    this.since = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

// ---- The server -------------------------------------------------------------------------------------------
const http = createServer((request, response) => {
  response.writeHead(request.url === "/health" ? 200 : 404, { "content-type": "text/plain" });
  response.end(request.url === "/health" ? "ok" : "not found");
});
const io = new Server(http, { maxHttpBufferSize: 16 * 1024, pingInterval: 25000, pingTimeout: 20000 });

io.use((socket, next) => {
  const auth = socket.handshake.auth || {};
  const name = typeof auth.name === "string" ? auth.name.trim() : "";
  if (!name) return next(new Error('a name is required: connect with the auth {"name": "..."}'));
  if ([...name].length > 32) return next(new Error("a name is at most 32 characters"));
  if (CONTROL.test(name)) return next(new Error("a name may not contain control characters or text-direction marks"));
  const serverOffset = auth.serverOffset ?? 0;
  if (!Number.isInteger(serverOffset) || serverOffset < 0) {
    return next(new Error(`serverOffset must be a whole number, 0 or more, not ${JSON.stringify(serverOffset)}`));
  }
  if (serverOffset > log.length) return next(new Error(`serverOffset ${serverOffset} is beyond the end of the log`));
  if (io.of("/").adapter.rooms.has(`user:${name.toLowerCase()}`)) return next(new Error(`the name ${name} is taken`));
  const rooms = ["lobby", ...(Array.isArray(auth.rooms) ? auth.rooms.filter(validRoom).map((room) => room.trim()) : [])];
  socket.join([`user:${name.toLowerCase()}`, `name:${name}`, ...new Set(rooms)]);
  socket.data = { name, serverOffset, limit: new RateLimit() };
  next();
});

io.on("connection", (socket) => {
  const { name, serverOffset, limit } = socket.data;
  const names = [...io.of("/").adapter.rooms.keys()].filter((room) => room.startsWith("name:")).map((room) => room.slice(5));
  socket.emit("online", { names: names.sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())) });
  socket.broadcast.emit("user joined", { name });
  for (let at = serverOffset; at < log.length; at += 1) {
    const { offset, room, name: sender, text } = log[at];
    if (socket.rooms.has(room)) socket.emit("chat message", { offset, room, name: sender, text });
  }
  socket.on("chat message", (message, ack) => {
    const answer = (value) => { if (typeof ack === "function") ack(value); };
    if (!limit.allow()) return answer({ ok: false, error: SLOW_DOWN });
    if (!message || typeof message !== "object" || Array.isArray(message)) {
      return answer({ ok: false, error: 'expected {"room": "...", "text": "...", "clientOffset": "..."}' });
    }
    const { room, text, clientOffset } = message;
    if (!validRoom(room)) return answer({ ok: false, error: "a room's name is 1 to 32 characters" });
    if (!socket.rooms.has(room.trim())) return answer({ ok: false, error: `you are not in the room ${room}` });
    const trimmed = typeof text === "string" ? text.trim() : "";
    if (!trimmed) return answer({ ok: false, error: "the message is empty" });
    if ([...trimmed].length > 500) return answer({ ok: false, error: "the message is longer than 500 characters" });
    if (typeof clientOffset !== "string" || clientOffset.length < 1 || clientOffset.length > 64) {
      return answer({ ok: false, error: "a clientOffset is 1 to 64 characters, without control characters" });
    }
    const { offset, duplicate } = append(room.trim(), name, trimmed, clientOffset);
    if (!duplicate) io.to(room.trim()).emit("chat message", { offset, room: room.trim(), name, text: trimmed });
    answer({ ok: true, offset });
  });
  socket.on("disconnect", () => socket.broadcast.emit("user left", { name }));
});

http.listen(port, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${http.address().port}/`);
});
