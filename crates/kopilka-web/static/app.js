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
