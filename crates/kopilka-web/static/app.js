// Kopilka's pages work without this file; it only adds the offline card: a service worker
// that keeps the last account page (balance, card, barcode) for when the network is gone.
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
