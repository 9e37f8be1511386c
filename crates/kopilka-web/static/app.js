// Kopilka's pages work without this file; it only enhances them: the offline card (a service worker
// keeping the last account page for when the network is gone), the one-time code, the SMS
// countdown and stores near the browser's location.
'use strict';
if ('serviceWorker' in navigator) {
  const signedIn = document.documentElement.dataset.signedIn === 'true';
  if (signedIn) {
    navigator.serviceWorker.register('/sw.js').catch(() => { /* offline card unavailable */ });
  } else if (navigator.serviceWorker.controller) {
    // Signed out: what was kept for the offline card is someone's account; forget it.
    navigator.serviceWorker.controller.postMessage('forget');
  }
}

// The rotating one-time code: while online, the card's barcode is replaced by a code the till
// accepts once, renewed before it expires; without a network the card's own barcode stays.
const card = document.querySelector('[data-card-token]');
if (card) {
  const image = card.querySelector('img.barcode');
  const note = card.querySelector('[data-one-time-note]');
  const renew = async () => {
    try {
      const res = await fetch(card.dataset.cardToken, {
        method: 'POST',
        headers: { 'x-csrf-token': card.dataset.csrf },
        credentials: 'same-origin',
      });
      if (!res.ok) return;
      const token = await res.json();
      const svg = new DOMParser().parseFromString(token.svg, 'image/svg+xml').documentElement;
      svg.setAttribute('class', 'barcode');
      svg.dataset.oneTime = token.code;
      card.querySelector('.barcode').replaceWith(svg);
      note.hidden = false;
      const left = new Date(token.expires_at).getTime() - Date.now();
      // Renewed a little before it lapses, never more often than every ten seconds.
      setTimeout(renew, Math.max(10000, left - 15000));
    } catch {
      // Offline: the card's own barcode is still there.
      if (image && !card.contains(image)) card.querySelector('.barcode').replaceWith(image);
      note.hidden = true;
      setTimeout(renew, 30000);
    }
  };
  renew();
}

// The SMS code's resend countdown: the button waits, visibly, until a new code may be sent.
const resend = document.querySelector('[data-resend-after]');
if (resend) {
  const text = resend.querySelector('[data-countdown-text]');
  const button = resend.querySelector('button');
  const until = Date.now() + Number(resend.dataset.resendAfter) * 1000;
  const tick = () => {
    const left = Math.ceil((until - Date.now()) / 1000);
    if (left > 0) {
      text.textContent = resend.dataset.countdown.replace('{s}', String(left));
      button.disabled = true;
      setTimeout(tick, 1000);
    } else {
      text.textContent = '';
      button.disabled = false;
    }
  };
  tick();
}

// Stores near me: with the browser's location (when the customer allows it) the list is
// ordered by distance; without it the city chosen in the form stays.
const locate = document.querySelector('[data-locate]');
if (locate && 'geolocation' in navigator) {
  const button = locate.querySelector('[data-near-me]');
  const status = document.querySelector('[data-locate-status]');
  button.hidden = false;
  button.addEventListener('click', () => {
    status.textContent = locate.dataset.locating;
    navigator.geolocation.getCurrentPosition((position) => {
      const lat = locate.querySelector('[data-lat]');
      const lon = locate.querySelector('[data-lon]');
      lat.value = position.coords.latitude.toFixed(5);
      lon.value = position.coords.longitude.toFixed(5);
      lat.disabled = false;
      lon.disabled = false;
      locate.querySelector('select').disabled = true;
      locate.submit();
    }, () => {
      status.textContent = locate.dataset.denied;
    }, { timeout: 10000, maximumAge: 300000 });
  });
}

// Marketing's offer form: the reach follows the targeting as it is changed (without script,
// the «count the reach» button asks the same of the server).
const reachForm = document.querySelector('form[data-live-reach]');
if (reachForm) {
  const output = reachForm.querySelector('[data-reach]');
  let timer = null;
  const count = async () => {
    try {
      const res = await fetch(reachForm.dataset.liveReach, {
        method: 'POST',
        body: new URLSearchParams(new FormData(reachForm)),
        credentials: 'same-origin',
      });
      if (res.ok) output.textContent = (await res.json()).text;
    } catch {
      // Offline: the button still counts.
    }
  };
  reachForm.querySelector('[data-reach-inputs]').addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(count, 300);
  });
}
