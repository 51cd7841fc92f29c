// Chapter 5: the form emits "chat message" and waits for the server's acknowledgement; every
// "chat message" the server emits to us is appended to the list.
const messages = document.getElementById("messages");
const form = document.getElementById("form");
const input = document.getElementById("input");
const show = (text) => {
  const item = document.createElement("li");
  item.textContent = text; // text, never HTML: a message cannot inject markup into the page
  messages.appendChild(item);
  window.scrollTo(0, document.body.scrollHeight);
};
const socket = io();
socket.on("chat message", (message) => show(message.text));
form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (!input.value) return;
  socket.emit("chat message", { text: input.value }, (ack) => {
    if (!ack.ok) show(`(not sent: ${ack.error})`);
  });
  input.value = "";
});
