// The demo's service worker: SecureConnect's Web Push messages as notifications, so a browser
// with no tab open still rings. Each message is the JSON of src/push/payloads.ts webPushMessage:
// {type, notificationId, title?, body?, tag?, data}. A call's notices share its call id as `tag`,
// so "call ended" or "answered elsewhere" replaces the ringing notification instead of stacking.

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let message;
  try {
    message = event.data ? event.data.json() : undefined;
  } catch {
    message = undefined;
  }
  event.waitUntil(show(message).then(() => tell({ type: "push-shown", kind: message?.type ?? "unknown", tag: message?.tag })));
});

// Tells the demo's open tabs what a push showed, for their log, once the notification is up.
async function tell(report) {
  for (const client of await self.clients.matchAll({ type: "window" })) client.postMessage(report);
}

async function show(message) {
  if (!message || typeof message.type !== "string") return self.registration.showNotification("SecureConnect", { body: "New notification" });
  const options = { body: message.body ?? "", tag: message.tag ?? message.notificationId, data: message.data ?? {} };
  switch (message.type) {
    case "incoming-call":
      // Rings until answered, declined, or replaced by the call's next notice.
      return self.registration.showNotification(message.title ?? "Incoming call", {
        ...options,
        requireInteraction: true,
        renotify: true,
        actions: [
          { action: "answer", title: "Answer" },
          { action: "decline", title: "Decline" },
        ],
      });
    case "call-answered":
    case "call-ended":
      // Stops the ringing: the same tag replaces it with a quiet note.
      return self.registration.showNotification(message.title ?? "Call ended", { ...options, silent: true });
    case "silent":
      return undefined;
    default:
      return self.registration.showNotification(message.title ?? "SecureConnect", options);
  }
}

// Opens (or focuses) the demo on the call: the page joins it from #join=<callId>.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const callId = event.notification.data?.callId;
  if (event.action === "decline" || !callId) return;
  const url = new URL(`./#join=${encodeURIComponent(callId)}`, self.registration.scope).href;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      const open = windows.find((client) => client.url.startsWith(self.registration.scope));
      return open ? open.navigate(url).then((client) => client?.focus()) : self.clients.openWindow(url);
    }),
  );
});
