// The offline card: the account page and what it shows are kept from the last time they
// loaded; without a network the kept copy is served. Everything else goes to the network.
'use strict';
const CACHE = 'kopilka-account-v1';
const KEPT = (url) => url.pathname === '/account' || url.pathname.startsWith('/account/card/')
  || url.pathname.startsWith('/assets/');

self.addEventListener('install', (event) => { event.waitUntil(self.skipWaiting()); });
self.addEventListener('activate', (event) => { event.waitUntil(self.clients.claim()); });

self.addEventListener('message', (event) => {
  if (event.data === 'forget') event.waitUntil(caches.delete(CACHE));
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || !KEPT(url)) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const response = await fetch(event.request);
      if (response.ok && !response.redirected) {
        await cache.put(event.request, response.clone());
      } else if (url.pathname === '/account') {
        // Signed out (a redirect to the sign-in page): nothing of the account stays.
        await caches.delete(CACHE);
      }
      return response;
    } catch (offline) {
      const kept = await cache.match(event.request);
      if (kept) return kept;
      throw offline;
    }
  })());
});
