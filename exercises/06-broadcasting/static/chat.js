// Chapter 6: a shared chat. Open /?name=alice in one tab and /?name=bob in another.
const messages = document.getElementById("messages");
const status = document.getElementById("status");
const form = document.getElementById("form");
const input = document.getElementById("input");
const show = (line) => {
  const item = document.createElement("li");
  item.textContent = line; // text, never HTML: a message cannot inject markup into the page
  messages.appendChild(item);
  window.scrollTo(0, document.body.scrollHeight);
};
// The name travels in the handshake's `auth`; the server calls a client without one "anonymous".
const name = new URLSearchParams(window.location.search).get("name") || "";
const socket = io({ auth: { name } });
socket.on("chat message", ({ name, text }) => show(`${name}: ${text}`));
socket.on("user joined", ({ name }) => show(`* ${name} joined`));
socket.on("user left", ({ name }) => show(`* ${name} left`));
form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (input.value) {
    // The third argument is the acknowledgement callback: the server's answer to this one message.
    socket.emit("chat message", { text: input.value }, (ack) => {
      status.textContent = ack && ack.ok ? "" : `not sent: ${ack ? ack.error : "no answer"}`;
    });
    input.value = "";
  }
});
