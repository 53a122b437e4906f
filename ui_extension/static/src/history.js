// History page: "select all on this page", "all matching these filters", and the count of
// work orders a bulk retry will take. The form posts without this script too.
function setup() {
  const form = document.getElementById("bulk-retry");
  if (!form) return;
  const boxes = () => Array.from(document.querySelectorAll("input.select-wo"));
  const page = document.getElementById("select-page");
  const all = document.getElementById("all-matching");
  const count = document.getElementById("selected-count");
  const update = () => {
    const chosen = boxes().filter((b) => b.checked).length;
    boxes().forEach((b) => { b.disabled = all.checked; });
    page.disabled = all.checked;
    count.textContent = all.checked ? "" : `${chosen} selected`;
  };
  page.addEventListener("change", () => {
    boxes().forEach((b) => { b.checked = page.checked; });
    update();
  });
  all.addEventListener("change", update);
  boxes().forEach((b) => b.addEventListener("change", update));
  update();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
else setup();
