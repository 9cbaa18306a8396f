// masto.js schedules a status on a live node; the pytest side restarts the node before it is due
// and checks it is published. (megalodon sends `scheduled_at` only when it is more than 5 minutes
// ahead, too long for a test to wait: megalodon_flows.mjs schedules and cancels one instead.)
// Usage: node schedule_flows.mjs '<json>' with {"url", "token", "at" (ISO time)}. Prints its id.
import { createRestAPIClient } from "masto";

const input = JSON.parse(process.argv[2]);
const masto = createRestAPIClient({ url: input.url, accessToken: input.token });
const scheduled = await masto.v1.statuses.create({ status: "scheduled by masto.js", scheduledAt: input.at });
console.log(JSON.stringify({ id: scheduled.id }));
