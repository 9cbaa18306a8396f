// masto.js against a live node. Usage: node masto_flows.mjs '<json>' where json is
// {"url", "author", "fans": [tokens], "other": accountId}. Prints one JSON object of what it saw;
// the pytest side (tests/api/test_js_clients.py) asserts on it.
import { createRestAPIClient } from "masto";

const input = JSON.parse(process.argv[2]);
const client = (accessToken) => createRestAPIClient({ url: input.url, accessToken });
const author = client(input.author);
const out = {};

const post = await author.v1.statuses.create({ status: "grouped by masto.js" });
for (const token of input.fans) {
  await client(token).v1.statuses.$select(post.id).favourite();
}
const page = await author.v2.notifications.list({ limit: 10 });
out.groups = page.notificationGroups.map((g) => ({
  key: g.groupKey, type: g.type, count: g.notificationsCount, samples: g.sampleAccountIds, statusId: g.statusId,
}));
out.accounts = page.accounts.map((a) => a.id);
const partial = await author.v2.notifications.list({ limit: 10, expandAccounts: "partial_avatars" });
out.partial = { accounts: partial.accounts.map((a) => a.id), partialAccounts: partial.partialAccounts };
const key = page.notificationGroups[0].groupKey;
out.one = (await author.v2.notifications.$select(key).fetch()).notificationGroups[0].notificationsCount;
out.groupAccounts = (await author.v2.notifications.$select(key).accounts.fetch()).map((a) => a.id);
out.unread = (await author.v2.notifications.unreadCount.fetch()).count;
out.policy = await author.v2.notifications.policy.update({ forNotFollowers: "filter" });
out.requests = await author.v1.notifications.requests.list();

const when = new Date(Date.now() + 3600 * 1000).toISOString();
const scheduled = await author.v1.statuses.create({ status: "later, by masto.js", scheduledAt: when });
out.scheduled = { id: scheduled.id, scheduledAt: scheduled.scheduledAt, text: scheduled.params.text };
out.scheduledList = (await author.v1.scheduledStatuses.list()).map((s) => s.id);
const later = new Date(Date.now() + 7200 * 1000).toISOString();
out.rescheduled = (await author.v1.scheduledStatuses.$select(scheduled.id).update({ scheduledAt: later })).scheduledAt;
await author.v1.scheduledStatuses.$select(scheduled.id).remove();
out.scheduledAfterCancel = (await author.v1.scheduledStatuses.list()).length;

out.trendStatuses = Array.isArray(await author.v1.trends.statuses.list());
out.trendTags = Array.isArray(await author.v1.trends.tags.list());
out.trendLinks = await author.v1.trends.links.list();
out.suggestions = Array.isArray(await author.v2.suggestions.list());
out.directory = (await author.v1.directory.list({ local: true, order: "new" })).length;
out.extended = Object.keys(await author.v1.instance.extendedDescription.fetch()).sort();
out.familiar = await author.v1.accounts.familiarFollowers.fetch({ id: [input.other] });
const me = await author.v1.accounts.verifyCredentials();
out.featuredTags = await author.v1.accounts.$select(me.id).featuredTags.list();
out.lists = await author.v1.accounts.$select(input.other).lists.list();
out.identityProofs = await author.v1.accounts.$select(me.id).identityProofs.list();
try {
  await author.v1.statuses.$select(post.id).translate({ lang: "fr" });
  out.translate = "answered";
} catch (error) {
  out.translate = { status: error.statusCode, message: error.message };
}
console.log(JSON.stringify(out));
