// Web Push subscriptions through masto.js and megalodon. Usage: node push_flows.mjs '<json>' with
// {"url", "masto": {token, endpoint, p256dh, auth}, "megalodon": {token, endpoint, p256dh, auth}}.
// Prints one JSON object of what it saw; tests/api/test_web_push.py sends the pushes and decrypts them.
import { createRestAPIClient } from "masto";
import megalodon from "megalodon"; // CommonJS: its default export is `megalodon.default`

const input = JSON.parse(process.argv[2]);
const out = {};

const m = input.masto;
const masto = createRestAPIClient({ url: input.url, accessToken: m.token });
const made = await masto.v1.push.subscription.create({
  subscription: { endpoint: m.endpoint, keys: { p256dh: m.p256dh, auth: m.auth } },
  data: { alerts: { follow: true, mention: false } },
  policy: "all",
});
out.masto = { id: made.id, endpoint: made.endpoint, serverKey: made.serverKey, alerts: made.alerts, policy: made.policy };
out.mastoFetched = (await masto.v1.push.subscription.fetch()).id;
out.mastoUpdated = (await masto.v1.push.subscription.update({ data: { alerts: { follow: true, favourite: true } } }))
  .alerts;

const g = input.megalodon;
const client = megalodon.default("mastodon", input.url, g.token);
const subscribed = (await client.subscribePushNotification(
  { endpoint: g.endpoint, keys: { p256dh: g.p256dh, auth: g.auth } }, { alerts: { follow: true } })).data;
out.megalodon = { id: subscribed.id, endpoint: subscribed.endpoint, serverKey: subscribed.server_key,
                  alerts: subscribed.alerts };
out.megalodonFetched = (await client.getPushSubscription()).data.id;
out.megalodonUpdated = (await client.updatePushSubscription({ alerts: { follow: true, poll: true } })).data.alerts;
console.log(JSON.stringify(out));
