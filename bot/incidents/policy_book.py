"""Which policy applies: the current one for new incidents; for an existing incident,
the version it started with (stored by hash), so its chain and cadences never change
under it when the file does. `reload` swaps in a changed file only once it validates.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from bot.clock import Clock
from bot.policy.errors import PolicyInvalid
from bot.policy.loader import LoadedPolicy, load_policy, parse_policy
from bot.policy.model import Policy
from bot.store.repo import Store
from bot.store.tables import Incident, PolicyVersion

log = logging.getLogger(__name__)


class PolicyBook:
    """Quacks like the current LoadedPolicy (`.policy`, `.version`, `.path`)."""

    def __init__(self, store: Store, current: LoadedPolicy, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.current = current
        self._known: dict[str, Policy] = {current.version: current.policy}

    @property
    def policy(self) -> Policy:
        return self.current.policy

    @property
    def version(self) -> str:
        return self.current.version

    @property
    def path(self) -> str:
        return self.current.path

    async def register(self) -> None:
        """Store the current policy's text under its hash (once)."""
        async with self.store.session() as s:
            if await s.get(PolicyVersion, self.current.version) is None:
                source = _source(self.current)
                s.add(
                    PolicyVersion(
                        version=self.current.version,
                        path=self.current.path,
                        source=source,
                        loaded_at=self.clock.now(),
                    )
                )
                try:
                    await s.commit()
                except IntegrityError:  # a replica starting alongside stored it first
                    await s.rollback()

    async def of(self, incident: Incident) -> Policy:
        """The policy `incident` started with; the current one if that was never stored."""
        known = self._known.get(incident.policy_version)
        if known is not None:
            return known
        async with self.store.session() as s:
            row = await s.get(PolicyVersion, incident.policy_version)
        if row is None:
            log.warning(
                "%s started with an unknown policy version; using the current one", incident.number
            )
            return self.current.policy
        policy = parse_policy(row.source, row.path).policy
        self._known[row.version] = policy
        return policy

    async def reload(self) -> bool:
        """Take a changed policy file, only if it validates. True when it changed."""
        try:
            fresh = load_policy(self.current.path)
        except (PolicyInvalid, OSError) as e:
            log.error(
                "policy %s changed but does not validate; keeping version %s:\n%s",
                self.current.path,
                self.current.version[:12],
                e,
            )
            return False
        if fresh.version == self.current.version:
            return False
        self.current = fresh
        self._known[fresh.version] = fresh.policy
        await self.register()
        log.info("policy reloaded: version %s (open incidents keep theirs)", fresh.version[:12])
        return True


def _source(loaded: LoadedPolicy) -> str:
    try:
        return Path(loaded.path).read_text(encoding="utf-8-sig")
    except OSError:
        # Built in code (tests): its model is the source.
        import json

        return json.dumps(loaded.policy.model_dump(mode="json"))
