// Chapter 2: one WebSocket to /ws. Everything the server sends is listed; the form sends text.
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
    input.value = "";
  }
});
