// Chapter 4: connect with Socket.IO and show what happens. The form emits an "echo" event.
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
socket.on("connect", () => show(`connected over ${socket.io.engine.transport.name}`));
socket.io.engine.on("upgrade", (transport) => show(`upgraded to ${transport.name}`));
socket.on("disconnect", (reason) => show(`disconnected: ${reason}`));
socket.on("welcome", (text) => show(`server says: ${text}`));
socket.on("echo", (data) => show(`echo: ${JSON.stringify(data)}`));
form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (input.value) {
    socket.emit("echo", input.value);
    input.value = "";
  }
});
