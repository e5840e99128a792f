window.appVersion = "js-v1";
// a field a plain script adds late, as widgets do
setTimeout(() => {
  const memo = document.createElement("input");
  memo.name = "memo";
  document.getElementById("later").append(memo);
}, 300);
