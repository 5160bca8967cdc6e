// The supervisors' dashboard: its body is fetched again when events move its numbers (no reload).
import { liveFragment } from "./live-fragment.js";

liveFragment("dash-live", {
  every: 700,
  refreshEvery: 60000,
  types: ["message.created", "message.updated", "conversation.", "agent.presence", "connector.balance",
    "connector.balance_low", "connector.balance_ok", "connector.alert", "connector.updated", "dashboard.tick"],
});
