// Chapter 3: a chat over one WebSocket to /ws. The server relays what others say; we show our own lines.
const messages = document.getElementById("messages");
const form = document.getElementById("form");
const input = document.getElementById("input");
const show = (text) => {
  const item = document.createElement("li");
  item.textContent = text; // text, never HTML: a message cannot inject markup into the page
  messages.appendChild(item);
  window.scrollTo(0, document.body.scrollHeight);
};
const socket = new WebSocket(`ws://${location.host}/ws`);
socket.addEventListener("message", (event) => show(event.data));
socket.addEventListener("close", () => show("(connection closed)"));
form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (input.value && socket.readyState === WebSocket.OPEN) {
    socket.send(input.value);
    show(`me: ${input.value}`);
    input.value = "";
  }
});
