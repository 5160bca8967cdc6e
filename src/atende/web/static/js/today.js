// The board's "Hoje: N conversas ativas · 📱 SMS n · 💬 WhatsApp n" line, live.
import { liveFragment } from "./live-fragment.js";

liveFragment("today-line", { every: 400, replace: true, types: ["message.created", "conversation.created"] });
