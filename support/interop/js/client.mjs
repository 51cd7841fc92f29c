// The official Socket.IO client, under node, playing one scenario against a kit server.
//
//     node client.mjs URL TRANSPORTS SCENARIO
//
// TRANSPORTS is `upgrade` (the client's default: long-polling first, then the upgrade to WebSocket),
// `polling` (long-polling only) or `websocket` (WebSocket only). SCENARIO names one of the scenarios below.
//
// This script only plays its part and reports; the Rust test (tests/node_client.rs) decides what is right.
// Every observation is one JSON line on stdout: each event a client receives, each acknowledgement, the
// transport in use. The last line is {"done":true}. On an error, or after LIMIT_MS, it says why on stderr and
// exits with 1.

import { io } from "socket.io-client";

const LIMIT_MS = 10_000;
const TRANSPORTS = { upgrade: ["polling", "websocket"], polling: ["polling"], websocket: ["websocket"] };

const [url, mode, scenarioName] = process.argv.slice(2);

function observe(record) {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

function fail(message) {
  process.stderr.write(`client.mjs: ${message}\n`);
  process.exit(1);
}

// What the script waits for, for the timeout's message.
let step = "starting";
setTimeout(() => fail(`no progress within ${LIMIT_MS} ms while waiting for ${step}`), LIMIT_MS).unref();

// One Socket.IO connection, its received events kept in order so the script can wait for them.
class Client {
  constructor(name, auth, options = {}) {
    this.name = name;
    this.received = []; // [{ event, data, taken }]
    this.waiting = []; // [{ event, resolve }]
    this.socket = io(url, {
      transports: TRANSPORTS[mode],
      auth,
      forceNew: true, // one Engine.IO connection per client, even in one process
      reconnection: false, // a dropped connection is an error here, not something to hide
      ...options,
    });
    this.socket.onAny((event, ...args) => {
      const data = args.length > 0 ? args[0] : null;
      observe({ client: name, event, data });
      const index = this.waiting.findIndex((waiter) => waiter.event === event);
      if (index >= 0) {
        this.waiting.splice(index, 1)[0].resolve(data);
      } else {
        this.received.push({ event, data, taken: false });
      }
    });
    // The engine (the Engine.IO connection) exists as soon as io() returns; listening now means nothing is
    // missed. Its transport is reported when it opens: by the time the socket's `connect` fires, an upgrade
    // to WebSocket may already have happened.
    const engine = this.socket.io.engine;
    engine.once("open", () => observe({ client: name, opened: this.transport() }));
    this.upgraded = new Promise((resolve) => engine.on("upgrade", resolve));
    engine.on("upgradeError", (error) => fail(`${name}: the upgrade failed: ${error.message}`));
    this.socket.on("disconnect", (reason) => {
      if (reason !== "io client disconnect") fail(`${name} was disconnected: ${reason}`);
    });
  }

  transport() {
    return this.socket.io.engine.transport.name;
  }

  // Resolves once connected (and, with TRANSPORTS=upgrade, upgraded to WebSocket).
  async connected() {
    step = `${this.name} to connect`;
    await new Promise((resolve) => {
      if (this.socket.connected) return resolve();
      this.socket.once("connect", resolve);
      this.socket.once("connect_error", (error) => fail(`${this.name} could not connect: ${error.message}`));
    });
    if (mode === "upgrade") {
      step = `${this.name} to upgrade to WebSocket`;
      if (this.transport() !== "websocket") await this.upgraded;
      observe({ client: this.name, upgraded: this.transport() });
    }
  }

  // The data of the next event called `event` not yet waited for (it may have arrived already).
  next(event) {
    step = `${this.name} to receive ${JSON.stringify(event)}`;
    const earlier = this.received.find((item) => item.event === event && !item.taken);
    if (earlier) {
      earlier.taken = true;
      return Promise.resolve(earlier.data);
    }
    return new Promise((resolve) => this.waiting.push({ event, resolve }));
  }

  emit(event, data) {
    this.socket.emit(event, data);
  }

  // Emits with an acknowledgement and reports it.
  async emitWithAck(event, data) {
    step = `${this.name} to get the acknowledgement of ${JSON.stringify(event)} ${JSON.stringify(data)}`;
    const ack = await this.socket.timeout(LIMIT_MS).emitWithAck(event, data);
    observe({ client: this.name, ack: event, sent: data, data: ack });
    return ack;
  }

  // Resolves with the message of the server's connect_error (the server refused this client).
  async refused() {
    step = `${this.name} to be refused`;
    const error = await new Promise((resolve) => {
      this.socket.once("connect", () => fail(`${this.name} was admitted, and should not have been`));
      this.socket.once("connect_error", resolve);
    });
    observe({ client: this.name, refused: error.message });
    this.socket.close();
  }

  close() {
    observe({ client: this.name, transport: this.transport() });
    this.socket.close();
  }
}

const scenarios = {
  // Chapter 4: the server greets every new socket and echoes what it is sent, whatever JSON it is.
  async "welcome-echo"() {
    const solo = new Client("solo");
    await solo.connected();
    await solo.next("welcome");
    solo.emit("echo", { text: "héllo ✓", numbers: [1, 2.5, -3], nested: { ok: true, none: null } });
    await solo.next("echo");
    solo.close();
  },

  // Chapter 5: a chat message is acknowledged and sent back; an empty one is refused with an error
  // acknowledgement, and the connection lives on.
  async "acknowledgements"() {
    const solo = new Client("solo");
    await solo.connected();
    await solo.emitWithAck("chat message", { text: "hi" });
    await solo.next("chat message");
    await solo.emitWithAck("chat message", { text: "" });
    await solo.emitWithAck("chat message", { text: "still here" });
    await solo.next("chat message");
    solo.close();
  },

  // Chapter 6: bob is there first; alice joins (bob is told, alice is not), each says something (both hear
  // both, the sender included), alice leaves (bob is told).
  async "broadcast"() {
    const bob = new Client("bob", { name: "bob" });
    await bob.connected();
    const alice = new Client("alice", { name: "alice" });
    await alice.connected();
    await bob.next("user joined");
    await alice.emitWithAck("chat message", { text: "hi from alice" });
    await alice.next("chat message");
    await bob.next("chat message");
    await bob.emitWithAck("chat message", { text: "hi from bob" });
    await alice.next("chat message");
    await bob.next("chat message");
    alice.close();
    await bob.next("user left");
    bob.close();
  },

  // Chapter 8: a nameless client is refused; alice and bob are admitted, bob is told who is online and alice
  // that bob joined; both join "rust"; alice types (bob is told), stops (bob is told), says something to the
  // room (bob hears it, alice does not) and whispers to bob.
  async "rooms"() {
    await new Client("nameless", { name: "  " }).refused();
    const alice = new Client("alice", { name: "alice" });
    await alice.connected();
    await alice.next("online");
    const bob = new Client("bob", { name: "bob" });
    await bob.connected();
    await bob.next("online");
    await alice.next("user joined");
    await alice.emitWithAck("join", { room: "rust" });
    await bob.emitWithAck("join", { room: "rust" });
    alice.emit("typing", { room: "rust" });
    await bob.next("typing");
    alice.emit("stop typing", { room: "rust" });
    await bob.next("stopped typing");
    await alice.emitWithAck("chat message", { room: "rust", text: "hi bob" });
    await bob.next("chat message");
    await alice.emitWithAck("private message", { to: "bob", text: "psst" });
    await bob.next("private message");
    alice.close();
    await bob.next("user left");
    bob.close();
  },

  // Chapter 9: the auth is a function, called at each connection, as the chapter's page does it. alice
  // sends two messages; bob connects having seen offset 1 (he is replayed 2), alice sends a third (bob gets
  // it live); bob leaves, alice sends a fourth, and bob comes back with the offset he has now, 3.
  async "catching-up"() {
    const alice = new Client("alice", { name: "alice" });
    await alice.connected();
    await alice.emitWithAck("chat message", { text: "one" });
    await alice.emitWithAck("chat message", { text: "two" });
    await alice.next("chat message");
    await alice.next("chat message");
    let bobOffset = 1;
    const auth = (send) => send({ name: "bob", serverOffset: bobOffset });
    const bob = new Client("bob", auth);
    bob.socket.on("chat message", ({ offset }) => { bobOffset = offset; });
    await bob.connected();
    await bob.next("chat message");
    await alice.emitWithAck("chat message", { text: "three" });
    await alice.next("chat message");
    await bob.next("chat message");
    bob.close();
    await alice.emitWithAck("chat message", { text: "four" });
    await alice.next("chat message");
    const bobAgain = new Client("bob-again", auth);
    await bobAgain.connected();
    await bobAgain.next("chat message");
    alice.close();
    bobAgain.close();
  },

  // Chapter 10: alice's client has the options of the chapter's page (every emit acknowledged within
  // ackTimeout, or sent again); she sends a message, then the same message again (as a retry after a lost
  // acknowledgement would), then another. bob, reading, gets two messages.
  async "client-delivery"() {
    const bob = new Client("bob", { name: "bob" });
    await bob.connected();
    const alice = new Client("alice", { name: "alice" }, { ackTimeout: LIMIT_MS / 2, retries: 3 });
    await alice.connected();
    await alice.emitWithAck("chat message", { text: "once", clientOffset: "node:1" });
    await alice.emitWithAck("chat message", { text: "once", clientOffset: "node:1" });
    await alice.emitWithAck("chat message", { text: "twice?", clientOffset: "node:2" });
    await bob.next("chat message");
    await bob.next("chat message");
    await alice.next("chat message");
    await alice.next("chat message");
    alice.close();
    bob.close();
  },
};

const scenario = scenarios[scenarioName];
if (!url || !TRANSPORTS[mode] || !scenario) {
  fail(`usage: node client.mjs URL (upgrade|polling|websocket) (${Object.keys(scenarios).join("|")})`);
}
try {
  await scenario();
} catch (error) {
  fail(`${step}: ${error.message ?? error}`);
}
observe({ done: true });
process.exit(0);
