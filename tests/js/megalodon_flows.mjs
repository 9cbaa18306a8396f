// megalodon against a live node. Usage: node megalodon_flows.mjs '<json>' with {"url", "token", "other",
// "friend", "friendId", "ownerAcct"}: `friend` (a token) follows, posts to and writes directly to the owner.
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

// lists and list timelines, v1 filters that hide and warn, a direct conversation, markers, notifications
const friend = generator(out.sns, input.url, input.friend);
await client.followAccount(input.friendId);
await friend.followAccount(input.other);
const list = (await client.createList("megalodon")).data;
await client.addAccountsToList(list.id, [input.friendId]);
out.members = (await client.getAccountsInList(list.id)).data.map((a) => a.id);
out.lists = (await client.getLists()).data.map((l) => l.title);
await client.createFilter("secret", ["home"], { irreversible: true, whole_word: true });
await client.createFilter("careful", ["home"], { irreversible: false });
const listed = (await friend.postStatus("for the megalodon list")).data;
const hidden = (await friend.postStatus("a secret")).data;
const warned = (await friend.postStatus("be careful")).data;
out.inList = (await client.getListTimeline(list.id)).data.some((s) => s.id === listed.id);
const home = (await client.getHomeTimeline()).data;
out.hiddenAtHome = home.some((s) => s.id === hidden.id);
out.warned = home.some((s) => s.id === warned.id) && warned.id; // megalodon drops `filtered`: pytest reads it
out.filters = (await client.getFilters()).data.map((f) => [f.phrase, f.irreversible]).sort();
await friend.postStatus(`@${input.ownerAcct} psst`, { visibility: "direct" });
const conversations = (await client.getConversationTimeline()).data;
out.conversations = conversations.map((c) => ({ unread: c.unread, accounts: c.accounts.map((a) => a.id) }));
await client.saveMarkers({ home: { last_read_id: listed.id } });
out.marker = (await client.getMarkers(["home"])).data.home?.last_read_id;
await friend.followAccount((await client.verifyAccountCredentials()).data.id);
out.notifications = (await client.getNotifications()).data.map((n) => [n.type, n.account.id]);
console.log(JSON.stringify(out));
