// masto.js against a live node: lists and list timelines, filters that hide and warn, a direct
// conversation, and its streaming client (the token as WebSocket subprotocol) on the `list` and
// `direct` streams. Usage: node masto_lists_filters.mjs '<json>' where json is
// {"url", "owner", "friend", "friendId", "ownerAcct"}. Prints one JSON object of what it saw; the
// pytest side (tests/api/test_lists_filters_conversations.py) asserts on it.
import { createRestAPIClient, createStreamingAPIClient } from "masto";

const input = JSON.parse(process.argv[2]);
const owner = createRestAPIClient({ url: input.url, accessToken: input.owner });
const friend = createRestAPIClient({ url: input.url, accessToken: input.friend });
const out = {};

// Wait for the first event of a subscription, posting with `post()` until one comes: the streaming
// API does not acknowledge a subscription, so the first posts may precede it.
async function firstEvent(subscription, wanted, post) {
  const iterator = subscription.values()[Symbol.asyncIterator]();
  const next = (async () => {
    for (;;) {
      const { value } = await iterator.next();
      if (value.event === wanted) return value;
    }
  })();
  const deadline = Date.now() + 20000;
  let event;
  while (!event && Date.now() < deadline) {
    await post();
    event = await Promise.race([next, new Promise((resolve) => setTimeout(resolve, 500))]);
  }
  subscription.unsubscribe();
  return event;
}

await owner.v1.accounts.$select(input.friendId).follow();
const list = await owner.v1.lists.create({ title: "masto.js", repliesPolicy: "followed", exclusive: true });
out.list = { title: list.title, repliesPolicy: list.repliesPolicy, exclusive: list.exclusive };
await owner.v1.lists.$select(list.id).accounts.create({ accountIds: [input.friendId] });
out.members = (await owner.v1.lists.$select(list.id).accounts.list()).map((a) => a.id);

const instance = await owner.v2.instance.fetch();
const streaming = createStreamingAPIClient({
  streamingApiUrl: instance.configuration.urls.streaming, accessToken: input.owner, retry: false,
});
const listEvent = await firstEvent(streaming.list.subscribe({ list: list.id }), "update",
  () => friend.v1.statuses.create({ status: "for the masto.js list" }));
out.listEvent = listEvent && { stream: listEvent.stream, content: listEvent.payload.content };

const posted = await friend.v1.statuses.create({ status: "listed, not at home" });
out.inList = (await owner.v1.timelines.list.$select(list.id).list()).some((s) => s.id === posted.id);
out.inHome = (await owner.v1.timelines.home.list()).some((s) => s.id === posted.id);
await owner.v1.lists.$select(list.id).update({ title: "masto.js", exclusive: false });

await owner.v2.filters.create({
  title: "hush", context: ["home"], filterAction: "hide", keywordsAttributes: [{ keyword: "secret", wholeWord: true }],
});
await owner.v2.filters.create({
  title: "careful", context: ["home"], filterAction: "warn", keywordsAttributes: [{ keyword: "careful" }],
});
const hidden = await friend.v1.statuses.create({ status: "a secret" });
const warned = await friend.v1.statuses.create({ status: "be careful" });
const home = await owner.v1.timelines.home.list();
out.hiddenAtHome = home.some((s) => s.id === hidden.id);
out.warned = home.find((s) => s.id === warned.id)?.filtered?.map((r) => [r.filter.title, r.filter.filterAction]);
out.filters = (await owner.v2.filters.list()).map((f) => [f.title, f.keywords.map((k) => k.keyword)]);
out.v1Filters = (await owner.v1.filters.list()).map((f) => f.phrase).sort();

const directEvent = await firstEvent(streaming.direct.subscribe(), "conversation",
  () => friend.v1.statuses.create({ status: `@${input.ownerAcct} psst`, visibility: "direct" }));
out.directEvent = directEvent && { stream: directEvent.stream, unread: directEvent.payload.unread };
streaming.close();

const conversations = await owner.v1.conversations.list();
out.conversations = conversations.map((c) => ({ unread: c.unread, accounts: c.accounts.map((a) => a.id) }));
out.read = (await owner.v1.conversations.$select(conversations[0].id).read()).unread;
await owner.v1.conversations.$select(conversations[0].id).remove();
out.removed = conversations.length - (await owner.v1.conversations.list()).length;
console.log(JSON.stringify(out));
process.exit(0);
