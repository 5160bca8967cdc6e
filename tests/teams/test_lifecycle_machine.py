"""A hypothesis state machine of the conversation life cycle on the real engine (SQLite): customers write,
conversations are routed, taken, transferred, released, closed and reopened, timers fire, agents change
presence and capacity. After every step the invariants hold:

- nobody over capacity (unless their capacity was lowered below what they already held, and then they
  only go down);
- nobody assigned twice: one holder per conversation, `open` exactly when held, and the board counters
  equal to the conversations they count;
- the queue in order: what a routing pass assigns is, per queue, the oldest of what waited before it,
  and after a pass nothing waits in a queue that has an online member with room;
- visibility: each agent's lists and counters (the SQL scope, read branch by branch) show exactly the
  conversations the policy's rule lets them read.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import func, insert, select

from atende.actions import conversations as conv_actions
from atende.actions import teams as team_actions
from atende.actions.connectors import create_connector
from atende.actions.errors import ActionError
from atende.actions.ingest import ConnectorInfo, ingest_batch
from atende.actions.users import set_capacity, set_presence
from atende.auth.passwords import hash_password
from atende.auth.policy import Viewer, can_read, conversation_scope, load_viewer
from atende.channels.base import InboundMessage, WebhookBatch
from atende.db import queries
from atende.db.migrate import upgrade
from atende.db.tables import conversation_counts, conversations, users
from atende.db.types import clock, utcnow
from atende.jobs.handlers import DEAD_HOOKS, HANDLERS
from atende.jobs.worker import Worker
from atende.realtime.bus import MemoryBus
from atende.runtime import Runtime
from atende.settings import Settings

AGENTS = ("a1", "a2", "a3", "a4")  # a1, a2: team 1; a2, a3: team 2 (round robin); a4: no team
CUSTOMERS = [f"+55119{n:08d}" for n in range(1, 7)]
_template: dict[str, Path] = {}


def _template_db() -> Path:
    """One migrated database with the users, teams and connectors, copied for every example."""
    if "db" not in _template:
        folder = Path(tempfile.mkdtemp(prefix="atende-machine-"))
        path = folder / "template.db"

        async def build() -> None:
            rt = Runtime.create(Settings(database_url=f"sqlite+aiosqlite:///{path}", secret_key="machine"),
                                bus=MemoryBus())
            await upgrade(rt.engine)
            pw = hash_password("s3nha-forte")
            async with rt.write() as tx:
                for name in ("admin", *AGENTS):
                    await tx.conn.execute(insert(users).values(
                        email=f"{name}@example.com", name=name, password_hash=pw,
                        role="admin" if name == "admin" else "agent", capacity=1,
                        presence="offline" if name == "admin" else "online", created_at=utcnow()))
                ids = {r.name: r.id for r in await tx.conn.execute(select(users.c.id, users.c.name))}
                c1 = await create_connector(tx, rt.secrets, name="um", provider="sandbox", config={})
                c2 = await create_connector(tx, rt.secrets, name="dois", provider="sandbox", config={})
                await create_connector(tx, rt.secrets, name="geral", provider="sandbox", config={})
                await team_actions.create_team(tx, {"name": "T1", "member_ids": [ids["a1"], ids["a2"]],
                                                    "connector_ids": [c1]})
                await team_actions.create_team(tx, {"name": "T2", "member_ids": [ids["a2"], ids["a3"]],
                                                    "connector_ids": [c2], "policy": "round_robin",
                                                    "visibility": "team"})
            await rt.close()

        asyncio.run(build())
        _template["db"] = path
    return _template["db"]


class Lifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        clock.offset = timedelta(0)
        self.folder = Path(tempfile.mkdtemp(prefix="atende-machine-"))
        db = self.folder / "atende.db"
        shutil.copy(_template_db(), db)
        self.loop = asyncio.new_event_loop()
        self.rt = Runtime.create(Settings(
            database_url=f"sqlite+aiosqlite:///{db}", secret_key="machine", auto_release_after_s=600,
            auto_close_after_s=3600, auto_away_after_s=0, run_migrations_on_start=False), bus=MemoryBus())
        self.worker = Worker(self.rt, HANDLERS, dead_hooks=DEAD_HOOKS)
        self.ids = self.run(self._ids())
        self.msg_ids = itertools.count(1)
        self.excess: dict[int, int] = {}  # agent → what they held above a lowered capacity

    def teardown(self) -> None:
        self.run(self.rt.close())
        self.loop.close()
        shutil.rmtree(self.folder, ignore_errors=True)
        clock.offset = timedelta(0)

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def _ids(self) -> dict[str, int]:
        async with self.rt.read() as conn:
            return {r.name: int(r.id) for r in await conn.execute(select(users.c.id, users.c.name))}

    async def _viewer(self, name: str) -> Viewer:
        async with self.rt.read() as conn:
            return await load_viewer(conn, self.ids[name], "admin" if name == "admin" else "agent")

    async def _convs(self) -> list[Any]:
        async with self.rt.read() as conn:
            return list(await conn.execute(select(conversations).order_by(conversations.c.id)))

    async def _attempt(self, coro_fn: Any) -> None:
        """An action the policy or the state may refuse: a refusal changes nothing."""
        try:
            async with self.rt.write() as tx:
                await coro_fn(tx)
        except ActionError:
            pass

    # ---- steps --------------------------------------------------------------------------------

    @rule(customer=st.sampled_from(CUSTOMERS), connector=st.sampled_from([1, 2, 3]), drain=st.booleans())
    def customer_writes(self, customer: str, connector: int, drain: bool) -> None:
        message = InboundMessage(provider_message_id=f"m{next(self.msg_ids)}", address=customer, kind="text",
                                 text="olá", timestamp=utcnow(), raw={})

        async def go() -> None:
            async with self.rt.write() as tx:
                await ingest_batch(tx, ConnectorInfo(id=connector, channel="sandbox", provider="sandbox"),
                                   WebhookBatch(messages=[message]))
            if drain:  # routed at once, as a worker would
                await self._routing_pass()
        self.run(go())

    @rule()
    def routing_pass(self) -> None:
        self.run(self._routing_pass())

    async def _routing_pass(self) -> None:
        before = {int(c.id): c for c in await self._convs() if c.status == "new"}
        await self.worker.drain()
        after = {int(c.id): c for c in await self._convs()}
        # What this pass assigned, per queue, is the oldest of what waited before it.
        for team in {c.team_id for c in before.values()}:
            waiting = sorted((c for c in before.values() if c.team_id == team),
                             key=lambda c: (c.waiting_since, c.id))
            taken = [int(c.id) in after and after[int(c.id)].status == "open" for c in waiting]
            assert taken == sorted(taken, reverse=True), (
                team, [(c.id, t) for c, t in zip(waiting, taken, strict=True)])
        await self._nothing_waits_beside_a_free_agent()

    async def _nothing_waits_beside_a_free_agent(self) -> None:
        async with self.rt.read() as conn:
            agents = list(await conn.execute(select(users.c.id, users.c.capacity, users.c.presence)))
            loads = Counter(int(c.assignee_id) for c in await self._convs() if c.status == "open")
            teams = {t["id"]: t for t in await team_actions.team_views(conn)}
        free = {int(a.id) for a in agents if a.presence == "online" and (a.capacity == 0 or loads[a.id] < a.capacity)}
        for c in await self._convs():
            if c.status == "new":
                members = set(teams[c.team_id]["member_ids"]) if c.team_id else {int(a.id) for a in agents}
                assert not (members & free), f"conversation {c.id} waits while {members & free} have room"

    @rule(agent=st.sampled_from(AGENTS), pick=st.integers(0, 20))
    def agent_takes(self, agent: str, pick: int) -> None:
        convs = self.run(self._convs())
        if convs:
            viewer = self.run(self._viewer(agent))
            target = convs[pick % len(convs)]
            self.run(self._attempt(lambda tx: conv_actions.assign(tx, int(target.id), viewer.id, by=viewer)))

    @rule(agent=st.sampled_from(AGENTS), pick=st.integers(0, 20), to=st.sampled_from(["t1", "t2", *AGENTS]))
    def transfer(self, agent: str, pick: int, to: str) -> None:
        convs = self.run(self._convs())
        if not convs:
            return
        viewer = self.run(self._viewer(agent))
        target = convs[pick % len(convs)]
        kwargs = {"team_id": int(to[1])} if to.startswith("t") else {"agent_id": self.ids[to]}
        self.run(self._attempt(lambda tx: conv_actions.transfer(tx, int(target.id), note="passo",
                                                                by=viewer, **kwargs)))

    @rule(agent=st.sampled_from(AGENTS), pick=st.integers(0, 20), what=st.sampled_from(["close", "release", "reopen"]))
    def move(self, agent: str, pick: int, what: str) -> None:
        convs = self.run(self._convs())
        if not convs:
            return
        viewer = self.run(self._viewer(agent))
        target = int(convs[pick % len(convs)].id)
        action = {"close": conv_actions.close, "release": conv_actions.release, "reopen": conv_actions.reopen}[what]
        self.run(self._attempt(lambda tx: action(tx, target, by=viewer)))

    @rule(agent=st.sampled_from(AGENTS), presence=st.sampled_from(["online", "online", "away", "offline"]))
    def presence(self, agent: str, presence: str) -> None:
        self.run(self._attempt(lambda tx: set_presence(tx, self.ids[agent], presence)))

    @rule(agent=st.sampled_from(AGENTS), capacity=st.integers(0, 3))
    def capacity(self, agent: str, capacity: int) -> None:
        agent_id = self.ids[agent]
        held = sum(1 for c in self.run(self._convs()) if c.status == "open" and c.assignee_id == agent_id)
        if capacity and held > capacity:
            self.excess[agent_id] = held  # lowered below what they hold: they may keep it, not grow
        self.run(self._attempt(lambda tx: set_capacity(tx, agent_id, capacity)))

    @precondition(lambda self: clock.offset < timedelta(days=2))
    @rule(minutes=st.sampled_from([5, 11, 61]))
    def time_passes(self, minutes: int) -> None:
        clock.offset += timedelta(minutes=minutes)
        self.run(self.worker.drain())

    # ---- invariants ---------------------------------------------------------------------------

    @invariant()
    def nobody_over_capacity(self) -> None:
        convs = self.run(self._convs())

        async def caps() -> dict[int, int]:
            async with self.rt.read() as conn:
                return {int(r.id): int(r.capacity) for r in await conn.execute(select(users.c.id, users.c.capacity))}

        for agent_id, capacity in self.run(caps()).items():
            held = sum(1 for c in convs if c.status == "open" and c.assignee_id == agent_id)
            allowed = max(capacity, self.excess.get(agent_id, 0)) if capacity else held
            assert held <= allowed, f"agent {agent_id} holds {held}, capacity {capacity}"
            self.excess[agent_id] = held if capacity and held > capacity else 0

    @invariant()
    def one_holder_and_true_counters(self) -> None:
        convs = self.run(self._convs())
        for c in convs:
            assert (c.status == "open") == (c.assignee_id is not None) or c.status == "done", c
            if c.status == "new":
                assert c.assignee_id is None and c.waiting_since is not None, c

        async def counters() -> Counter[tuple[str, str, int, int]]:
            async with self.rt.read() as conn:
                rows = await conn.execute(select(conversation_counts).where(conversation_counts.c.n != 0))
                return Counter({(r.channel, r.status, int(r.assignee_id), int(r.team_id)): int(r.n) for r in rows})

        actual = Counter((c.channel, c.status, int(c.assignee_id or 0), int(c.team_id or 0)) for c in convs)
        assert self.run(counters()) == actual

    @invariant()
    def lists_show_exactly_what_the_rule_allows(self) -> None:
        convs = self.run(self._convs())

        async def check(name: str) -> None:
            viewer = await self._viewer(name)
            scope = conversation_scope(viewer)
            expected = {int(c.id) for c in convs if can_read(viewer, c)}
            async with self.rt.read() as conn:
                listed, _ = await queries.list_conversations(conn, scope=scope, limit=200)
                waiting, _ = await queries.list_conversations(conn, scope=scope, limit=200, order="waiting")
                counts = await queries.board_counts(conn, scope=scope)
                total = await conn.scalar(select(func.count()).select_from(conversations))
            assert {c["id"] for c in listed} == expected, (name, total)
            assert [c["id"] for c in waiting] == [int(c.id) for c in sorted(
                (c for c in convs if c.status == "new" and int(c.id) in expected),
                key=lambda c: (c.waiting_since, c.id))]
            by_status = Counter(c.status for c in convs if int(c.id) in expected)
            assert counts == {s: by_status.get(s, 0) for s in ("new", "open", "done")}

        for name in ("admin", *AGENTS):
            self.run(check(name))


@pytest.mark.timeout(900)
def test_the_life_cycle_keeps_its_invariants() -> None:
    run_state_machine_as_test(Lifecycle, settings=settings(
        max_examples=15, stateful_step_count=35, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
