// The public page of a code: the person's position is read and sent only when they press
// the button. The post carries the check's signed token (the page has no session).
const box = document.querySelector("[data-share-position]");
if (box) {
  const button = box.querySelector("[data-action=share-position]");
  const status = box.querySelector("[data-position-status]");
  const say = (text) => { status.textContent = text; };

  const send = async (position) => {
    const response = await fetch(box.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({
        token: box.dataset.token,
        latitude: position.coords.latitude,
        longitude: position.coords.longitude,
        accuracy_m: position.coords.accuracy,
      }),
    });
    const body = await response.json();
    if (!response.ok) {
      say(body.error ? body.error.message : box.dataset.msgFailed);
      return false;
    }
    // The server's own rendering of the verdict: sharing may reveal a copied code.
    const shown = document.querySelector("[data-verdict]");
    if (shown.dataset.verdict !== body.verdict) {
      const template = document.createElement("template");
      template.innerHTML = body.panel.trim();
      shown.replaceWith(template.content.firstElementChild);
    }
    say(body.message);
    box.dataset.positionShared = "true";
    button.hidden = true;
    return true;
  };

  button.addEventListener("click", () => {
    if (!("geolocation" in navigator)) {
      say(box.dataset.msgUnavailable);
      return;
    }
    button.disabled = true;
    say(box.dataset.msgLocating);
    navigator.geolocation.getCurrentPosition(
      (position) => {
        send(position)
          .then((done) => { button.disabled = done; })
          .catch(() => { say(box.dataset.msgFailed); button.disabled = false; });
      },
      (error) => {
        say(error.code === error.PERMISSION_DENIED ? box.dataset.msgDenied
          : box.dataset.msgUnavailable);
        button.disabled = false;
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
    );
  });
}
