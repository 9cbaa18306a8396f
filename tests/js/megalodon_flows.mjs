// megalodon against a live node. Usage: node megalodon_flows.mjs '<json>' with {"url", "token", "other"}.
// Prints one JSON object of what it saw; tests/api/test_js_clients.py asserts on it.
import megalodon from "megalodon"; // CommonJS: its default export is `megalodon.default`

const { detector } = megalodon;
const generator = megalodon.default;

const input = JSON.parse(process.argv[2]);
const out = {};
out.sns = await detector(input.url);
const client = generator(out.sns, input.url, input.token);
out.instance = (await client.getInstance()).data.uri;
const when = new Date(Date.now() + 3600 * 1000).toISOString();
const scheduled = (await client.postStatus("later, by megalodon", { scheduled_at: when })).data;
out.scheduledId = scheduled.id;
out.scheduledList = (await client.getScheduledStatuses()).data.map((s) => s.id);
out.scheduledOne = (await client.getScheduledStatus(scheduled.id)).data.params.text;
await client.cancelScheduledStatus(scheduled.id);
out.scheduledAfterCancel = (await client.getScheduledStatuses()).data.length;
out.trends = Array.isArray((await client.getInstanceTrends()).data);
out.suggestions = Array.isArray((await client.getSuggestions()).data);
out.directory = (await client.getInstanceDirectory({ local: true })).data.length;
out.accountLists = (await client.getAccountLists(input.other)).data;
out.identityProofs = (await client.getIdentityProof(input.other)).data;
out.notifications = Array.isArray((await client.getNotifications()).data);
console.log(JSON.stringify(out));
