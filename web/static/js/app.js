// Behaviour shared by every page; no inline scripts (the pages' CSP forbids them).
document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});
