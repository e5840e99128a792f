// The page's own script, with the bugs a developer is about to find.
function throwLater(message) {
  setTimeout(function thrower() { throw new Error(message); }, 0);
}

function rejectLater(message) {
  Promise.reject(new TypeError(message));
}

function complain(message) {
  console.error("app says:", message, { count: 2 });
}

function warn(message) {
  console.warn(message);
}

function flood(times) {
  for (let i = 0; i < times; i++) console.error("flood line " + i);
}

function addScriptMarkup() {
  const span = document.createElement("span");
  span.id = "built";
  span.textContent = "built by a script";
  document.getElementById("main").append(span);
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("open-dialog").addEventListener("click", () => document.getElementById("dialog").showModal());
});
