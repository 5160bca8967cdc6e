// The board's "Hoje: N conversas ativas · 📱 SMS n · 💬 WhatsApp n" line, live.
import { liveFragment } from "./live-fragment.js";

// dashboard.tick: a conversation had its first message of the day (an event every viewer receives).
liveFragment("today-line", { every: 400, replace: true, types: ["dashboard.tick"] });
